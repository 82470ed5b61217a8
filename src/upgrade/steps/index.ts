import type { Step } from '../types.js';
import { backupStep } from './backup/backup.js';
import { configureStep } from './configure/configure.js';
import { migrateStep } from './migrate/migrate.js';
import { planStep } from './plan/plan.js';
import { preflightStep } from './preflight/preflight.js';
import { promoteStep } from './promote/promote.js';
import { smokeStep } from './smoke/smoke.js';
import { stageStep } from './stage/stage.js';
import { checkpointsStep } from './verify-schema/verify-schema.js';

/** The upgrade's nine steps (docs/architecture.md, The upgrade), in the order the runner takes them. */
export const UPGRADE_STEPS: readonly Step[] = [
  planStep,
  preflightStep,
  backupStep,
  stageStep,
  migrateStep,
  checkpointsStep,
  configureStep,
  smokeStep,
  promoteStep,
];
