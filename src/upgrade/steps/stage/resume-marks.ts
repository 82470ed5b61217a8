import type { Journal, JournaledStep } from '../../journal.js';
import type { StageDetails, StagedTable } from './details.js';

/**
 * The stage step's resume marks: per-table status and rates, written to the journal after every change, so
 * that a resumed attempt skips the tables marked done and copies the others again.
 */
export class ResumeMarks {
  private readonly tables: Record<string, StagedTable>;
  schemaBuilt: boolean;
  /** How the server cloned the database, once it did. */
  cloneMethod: string | undefined;

  constructor(
    private readonly journal: Journal,
    private readonly step: JournaledStep<StageDetails>,
    previous: Partial<StageDetails> | undefined,
  ) {
    this.tables = readStagedTables(previous?.tables);
    this.schemaBuilt = previous?.schemaBuilt === true;
    this.cloneMethod = typeof previous?.cloneMethod === 'string' ? previous.cloneMethod : undefined;
  }

  isDone(table: string): boolean {
    return this.tables[table]?.status === 'done';
  }

  entry(table: string): StagedTable | undefined {
    return this.tables[table];
  }

  markSchemaBuilt(): void {
    this.schemaBuilt = true;
    this.save();
  }

  /** Tables being copied, or to be copied again by the next attempt: never skipped by a resumed run. */
  markCopying(tables: readonly string[]): void {
    for (const table of tables) this.tables[table] = { status: 'copying' };
    this.save();
  }

  /** `rows` undefined: not counted yet (a clone brought the table; verification counts it). */
  finish(table: string, rows: number | undefined, durationMs: number, bytes?: number): void {
    this.tables[table] = {
      status: 'done',
      durationMs,
      ...(rows !== undefined
        ? { rows, rowsPerSecond: Math.round(rows / Math.max(0.001, durationMs / 1000)) }
        : {}),
      ...(bytes !== undefined && bytes > 0 ? { bytes } : {}),
    };
    this.save();
  }

  private save(): void {
    this.journal.markForResume(this.step, {
      schemaBuilt: this.schemaBuilt,
      ...(this.cloneMethod !== undefined ? { cloneMethod: this.cloneMethod } : {}),
      tables: { ...this.tables },
    });
  }
}

/** The tables an earlier attempt marked, from its JSON: entries of another shape are not trusted. */
function readStagedTables(value: unknown): Record<string, StagedTable> {
  const tables: Record<string, StagedTable> = {};
  if (typeof value !== 'object' || value === null) return tables;
  for (const [name, record] of Object.entries(value)) {
    const status = (record as { status?: unknown } | null)?.status;
    if (status === 'done' || status === 'copying') tables[name] = { ...(record as StagedTable) };
  }
  return tables;
}
