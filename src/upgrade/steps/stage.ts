import { type Database, dialectModule } from '../../db/connection.js';
import type { NativeCopy } from '../../db/dialect.js';
import { redactDatabaseUrl } from '../../db/url.js';
import { migrateTo } from '../../releases/migrator.js';
import { crashPoint } from '../crash.js';
import { assertSameContent, compareContent } from '../data/compare.js';
import { eachRow, streamRows } from '../data/rows.js';
import { countRows, emptyTable, listTables, syncIdentities, type TableInfo } from '../data/tables.js';
import type { Journal } from '../journal.js';
import type { Step, StepDetails, UpgradeContext } from '../types.js';

const STREAMED_COPY = 'rows streamed in primary-key order into batched bulk inserts';

/** What the journal holds of each table while the stage step runs, so that a resumed run can continue. */
export interface StagedTable {
  status: 'copying' | 'done';
  rows?: number;
  durationMs?: number;
}

/**
 * Step 4 of DESIGN 3: copies production into the empty staging database with the engine's fastest path,
 * then verifies every table's row count and content checksum against production. Each table's completion
 * is checkpointed, so a resumed run skips finished tables and redoes the one that was interrupted.
 */
export const stageStep: Step = {
  name: 'stage',
  title: 'Stage: copy production into staging and verify every table',

  async describe(context) {
    const { plan } = context;
    const native = dialectModule(plan.kind).dialect.nativeCopy;
    const rows = plan.tables.reduce((sum, t) => sum + t.rows, 0);
    return [
      ...(native?.scope === 'database'
        ? []
        : [`build the schema of release ${plan.sourceRelease} on staging with the shipped scripts`]),
      `copy ${plan.tables.length} tables (${rows.toLocaleString('en')} rows) from production into staging ${redactDatabaseUrl(plan.stagingUrl)} with ${native?.method ?? STREAMED_COPY}`,
      'verify every table on staging against production: row count and SHA-256 content checksum',
    ];
  },

  async run(context, previous) {
    const started = performance.now();
    const production = await context.production();
    const staging = await context.staging();
    const tables = await listTables(production);
    const native = production.dialect.nativeCopy;
    const journal = new StageJournal(context.journal, previous);

    const copyStarted = performance.now();
    if (native?.scope === 'database') {
      await copyWholeDatabase(context, production, staging, tables, native, journal);
    } else {
      if (!journal.schemaBuilt) {
        // Resumable: a script MySQL stopped half-way continues at its next statement.
        await migrateTo(staging, context.plan.sourceRelease, { resume: true });
        journal.markSchemaBuilt();
      }
      for (const table of tables) {
        if (journal.isDone(table.name)) continue;
        await copyTable(context, production, staging, table, native, journal);
      }
    }
    await syncIdentities(staging, tables);
    const copyMs = performance.now() - copyStarted;

    const verifyStarted = performance.now();
    const comparisons = await compareContent(production, staging, tables, context.progress);
    const differing = comparisons.filter((c) => !c.same).map((c) => c.table);
    if (differing.length > 0) {
      // A resumed run copies them again, with every table after the first of them: emptying a parent
      // table on staging may cascade into its children, which always come later in the copy order.
      const first = tables.findIndex((t) => differing.includes(t.name));
      journal.markCopying(tables.slice(first).map((t) => t.name));
    }
    assertSameContent(
      comparisons,
      `Staging ${staging.label} does not hold what production holds`,
      'Production is untouched. Run the same command with --resume to copy the tables named here again.',
    );
    const verifyMs = performance.now() - verifyStarted;
    const rows = comparisons.reduce((sum, c) => sum + c.copy.rows, 0);
    context.progress.line(
      `Staging verified: ${comparisons.length} tables, ${rows.toLocaleString('en')} rows equal to production.`,
    );
    return {
      method: native?.method ?? STREAMED_COPY,
      tables: Object.fromEntries(
        comparisons.map((c) => [
          c.table,
          {
            status: 'done',
            rows: c.copy.rows,
            checksum: c.copy.checksum,
            durationMs: journal.durationOf(c.table),
          },
        ]),
      ),
      rows,
      copyMs: Math.round(copyMs),
      verifyMs: Math.round(verifyMs),
      durationMs: Math.round(performance.now() - started),
    };
  },
};

/** The engine copies the whole database at once; tables are all redone unless every one was finished. */
async function copyWholeDatabase(
  context: UpgradeContext,
  production: Database<unknown>,
  staging: Database<unknown>,
  tables: readonly TableInfo[],
  native: Extract<NativeCopy, { scope: 'database' }>,
  journal: StageJournal,
): Promise<void> {
  if (tables.every((t) => journal.isDone(t.name))) return;
  const started = performance.now();
  journal.markCopying(tables.map((t) => t.name));
  const task = context.progress.task(`stage (${native.method})`);
  await native.copy(production.db, staging.db, () => crashPoint('stage:batch'));
  task.done('copied');
  const durationMs = Math.round(performance.now() - started);
  for (const table of tables) {
    journal.finish(table.name, await countRows(staging, table.name), durationMs);
    crashPoint('stage:table');
  }
}

/** Empties the table on staging (a half copy is never continued) and copies it from production. */
async function copyTable(
  context: UpgradeContext,
  production: Database<unknown>,
  staging: Database<unknown>,
  table: TableInfo,
  native: NativeCopy | undefined,
  journal: StageJournal,
): Promise<void> {
  const started = performance.now();
  journal.markCopying([table.name]);
  // Also clears what the release scripts put into staging (the schema history, seeded rows).
  await emptyTable(staging, table.name);
  const planned = context.plan.tables.find((t) => t.name === table.name)?.rows;
  const task = context.progress.task(`stage ${table.name}`, planned);
  const onBatch = (rows: number): void => {
    task.advance(rows);
    crashPoint('stage:batch');
  };
  const rows =
    native?.scope === 'table'
      ? await native.copy(production.db, staging.db, table.name, table.columns, onBatch)
      : await staging.dialect.bulkInsert(
          staging.db,
          table.name,
          table.columns,
          eachRow(streamRows(production, table)),
          { trustedCopy: true, onBatch },
        );
  // Fresh statistics, so that verifying (and the later steps) read staging through its indexes.
  await staging.dialect.refreshStatistics(staging.db, table.name);
  task.done(`${rows.toLocaleString('en')} rows`);
  journal.finish(table.name, rows, Math.round(performance.now() - started));
  crashPoint('stage:table');
}

/** The stage step's checkpoints: per-table status, written to the journal after every change. */
class StageJournal {
  private readonly tables: Record<string, StagedTable>;
  schemaBuilt: boolean;

  constructor(
    private readonly journal: Journal,
    previous: StepDetails | undefined,
  ) {
    this.tables = readStagedTables(previous?.tables);
    this.schemaBuilt = previous?.schemaBuilt === true;
  }

  isDone(table: string): boolean {
    return this.tables[table]?.status === 'done';
  }

  durationOf(table: string): number | undefined {
    return this.tables[table]?.durationMs;
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

  finish(table: string, rows: number, durationMs: number): void {
    this.tables[table] = { status: 'done', rows, durationMs };
    this.save();
  }

  private save(): void {
    this.journal.checkpoint('stage', { schemaBuilt: this.schemaBuilt, tables: { ...this.tables } });
  }
}

function readStagedTables(value: unknown): Record<string, StagedTable> {
  const tables: Record<string, StagedTable> = {};
  if (typeof value !== 'object' || value === null) return tables;
  for (const [name, record] of Object.entries(value)) {
    const status = (record as { status?: unknown } | null)?.status;
    if (status === 'done' || status === 'copying') tables[name] = { ...(record as StagedTable) };
  }
  return tables;
}
