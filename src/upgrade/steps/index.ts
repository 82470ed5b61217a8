import { pathOf } from '../path-choice.js';
import type { Step } from '../types.js';
import type { UpgradePlan } from '../upgrade-plan.js';
import { backupStep } from './backup/backup.js';
import { configureStep } from './configure/configure.js';
import { freezeStep } from './freeze/freeze.js';
import { migrateStep } from './migrate/migrate.js';
import { planStep } from './plan/plan.js';
import { preflightStep } from './preflight/preflight.js';
import { promoteStep } from './promote/promote.js';
import { smokeStep } from './smoke/smoke.js';
import { stageStep } from './stage/stage.js';
import { verifySchemaStep } from './verify-schema/verify-schema.js';

/** The upgrade's nine steps on the stopped-node path (docs/architecture.md, The upgrade), in the order the runner takes them. */
export const UPGRADE_STEPS = [
  planStep,
  preflightStep,
  backupStep,
  stageStep,
  migrateStep,
  verifySchemaStep,
  configureStep,
  smokeStep,
  promoteStep,
] as const;

/** The online path's ten: the freeze of production comes between the preflight and the backup. */
export const ONLINE_UPGRADE_STEPS = [
  planStep,
  preflightStep,
  freezeStep,
  backupStep,
  stageStep,
  migrateStep,
  verifySchemaStep,
  configureStep,
  smokeStep,
  promoteStep,
] as const;

/** The steps' names, as the journal keeps them and the report shows them. */
export type StepName = (typeof ONLINE_UPGRADE_STEPS)[number]['name'];

export const STEP_NAMES: readonly StepName[] = UPGRADE_STEPS.map((step) => step.name);

/** The same steps, each seen as any step is (its details an object), for code that takes them in turn. */
export const STEPS_IN_ORDER: readonly Step[] = UPGRADE_STEPS;

/** The steps of the path the plan chose, in order: the journal holds a record for each of these only. */
export function stepsFor(plan: Pick<UpgradePlan, 'path'>): readonly Step[] {
  return pathOf(plan) === 'online' ? ONLINE_UPGRADE_STEPS : UPGRADE_STEPS;
}
