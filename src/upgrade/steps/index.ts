import type { Step } from '../types.js';
import { backupStep } from './backup/backup.js';
import { configureStep } from './configure/configure.js';
import { migrateStep } from './migrate/migrate.js';
import { planStep } from './plan/plan.js';
import { preflightStep } from './preflight/preflight.js';
import { promoteStep } from './promote/promote.js';
import { smokeStep } from './smoke/smoke.js';
import { stageStep } from './stage/stage.js';
import { verifySchemaStep } from './verify-schema/verify-schema.js';

/** The upgrade's nine steps (docs/architecture.md, The upgrade), in the order the runner takes them. */
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

/** The steps' names, as the journal keeps them and the report shows them. */
export type StepName = (typeof UPGRADE_STEPS)[number]['name'];

export const STEP_NAMES: readonly StepName[] = UPGRADE_STEPS.map((step) => step.name);

/** The same steps, each seen as any step is (its details an object), for code that takes them in turn. */
export const STEPS_IN_ORDER: readonly Step[] = UPGRADE_STEPS;
