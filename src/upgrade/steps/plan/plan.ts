import type { Step } from '../../types.js';
import type { UpgradePlan } from '../../upgrade-plan.js';

/** The plan is built by the runner before anything else (see plan.ts); this step records it. */
export const planStep: Step<'plan', UpgradePlan> = {
  name: 'plan',
  title: 'Plan: read the old home and production, find the path through the release matrix',
  async describe(context) {
    return [
      `${context.plan.sourceRelease} -> ${context.plan.targetRelease} via ${context.plan.hops.join(' -> ')}`,
    ];
  },
  async run(context) {
    return { ...context.plan };
  },
};
