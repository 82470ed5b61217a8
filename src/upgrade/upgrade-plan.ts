import type { ConfigFormat } from '../config/config-format.js';
import type { DatabaseKind } from '../db/url.js';

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
}
