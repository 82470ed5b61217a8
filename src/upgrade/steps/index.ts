import type { Step } from '../types.js';
import { backupStep } from './backup.js';
import { checkpointsStep } from './checkpoints.js';
import { configureStep } from './configure.js';
import { migrateStep } from './migrate.js';
import { planStep } from './plan.js';
import { preflightStep } from './preflight.js';
import { promoteStep } from './promote.js';
import { smokeStep } from './smoke.js';
import { stageStep } from './stage.js';

/** DESIGN 3's nine steps, in the order the runner takes them. */
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
