import type { ConfigFormat } from '../config/config-format.js';
import type { DatabaseKind } from '../db/url.js';
import type { PathChoice } from './path-choice.js';

/** What the plan step found; fixed for the whole run and stored in the journal. */
export interface UpgradePlan {
  sourceRelease: string;
  targetRelease: string;
  /** Releases applied in order, the source excluded. */
  hops: string[];
  kind: DatabaseKind;
  oldConfigFormat: ConfigFormat;
  /** The production URL exactly as the old config writes it (relative SQLite paths are the old home's). */
  productionUrl: string;
  /** The staging URL as given (relative SQLite paths are the new home's). */
  stagingUrl: string;
  /** Production's tables and their row counts when planned. */
  tables: { name: string; rows: number }[];
  /**
   * Stopped nodes or a freeze (src/upgrade/path-choice.ts), chosen from the nodes found on production when
   * planned. Absent in a journal of a release before the online path: the stopped-node path.
   */
  path?: PathChoice;
}
