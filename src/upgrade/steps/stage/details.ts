/** What the journal holds of each table while the stage step runs, so that a resumed run can continue. */
export interface StagedTable {
  status: 'copying' | 'done';
  rows?: number;
  durationMs?: number;
  /** Bytes of values copied, where the copy path counts them. */
  bytes?: number;
  rowsPerSecond?: number;
  /** The content checksum the verification found equal on both sides, once it did. */
  checksum?: string;
}

/** What a server-side clone took: its time and, where the engine tells it, the bytes it wrote. */
export interface CloneFacts {
  ms: number;
  bytes?: number;
}

/** What the stage step records: how production was copied, and every table as verified. */
export interface StageDetails {
  /** The copy paths the tables took, as the report names them. */
  method: string;
  /** How the server cloned the database, once it did. */
  cloneMethod?: string;
  /** The source release's schema was built on staging by its scripts (a table-by-table copy). */
  schemaBuilt?: boolean;
  clone?: CloneFacts;
  /** One SHA-256 over both files' pages, standing for every table's content (a page copy). */
  pageDigest?: string;
  verification: string;
  tables: Record<string, StagedTable>;
  rows: number;
  copyMs: number;
  verifyMs: number;
  rowsPerSecond: number;
  durationMs: number;
  /** On the online path: columns the verification left out, by table, and why (src/upgrade/freeze/live-writes.ts). */
  leftOut?: { columns: Readonly<Record<string, readonly string[]>>; reason: string };
  /** On the online path: the times a differing table was copied again before it verified. */
  recopies?: number;
  /** On the online path: the old cluster's run-time state taken out of staging (src/upgrade/freeze/staging-thaw.ts). */
  thaw?: { maintenanceOffGeneration?: number; nodeRowsRemoved: number; acksRemoved: number };
}
