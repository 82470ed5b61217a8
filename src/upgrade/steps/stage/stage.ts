import os from 'node:os';
import type { Database } from '../../../db/connection.js';
import { assertSameContent, compareContent, type TableComparison } from '../../../db/copy/compare.js';
import { inDependencyOrder } from '../../../db/copy/parallel.js';
import { eachRow, streamRows } from '../../../db/copy/rows.js';
import {
  countRows,
  emptyTable,
  listTables,
  syncIdentities,
  type TableInfo,
} from '../../../db/copy/tables.js';
import type { NativeCopy } from '../../../db/dialect.js';
import { parseDatabaseUrl, redactDatabaseUrl, sameServer } from '../../../db/url.js';
import { isTesseraError } from '../../../errors.js';
import { formatBytesJedec } from '../../../progress/bytes.js';
import { migrateTo } from '../../../releases/migrator.js';
import { crashPoint } from '../../crash.js';
import { LIVE_COLUMNS, LIVE_COLUMNS_REASON, RECOPY_ROUNDS } from '../../freeze/live-writes.js';
import { freezeActor } from '../../freeze/production-freeze.js';
import { thawStaging } from '../../freeze/staging-thaw.js';
import { pathOf } from '../../path-choice.js';
import type { Step, UpgradeContext } from '../../types.js';
import type { CloneFacts, StageDetails } from './details.js';
import { ResumeMarks } from './resume-marks.js';

export type { StageDetails, StagedTable } from './details.js';

const STREAMED_COPY = 'rows streamed in primary-key order into batched bulk inserts';
/** Tables copied at once: one per core, at least two (the reading and the writing side overlap anyway). */
const COPY_CONCURRENCY = Math.max(2, Math.min(4, os.availableParallelism()));

/**
 * Upgrade step 4 (docs/architecture.md, The upgrade): copies production into the empty staging database with the engine's fastest path
 * (a server-side clone when both sit on one server and the engine has one, else the engine's native
 * copy, else streamed bulk inserts, several tables at once), then verifies every table's row count and
 * content checksum against production. Each table's completion is a resume mark, so a resumed run skips
 * finished tables and redoes the ones that were interrupted.
 */
export const stageStep: Step<'stage', StageDetails> = {
  name: 'stage',
  title: 'Stage: copy production into staging and verify every table',

  async describe(context) {
    const { plan } = context;
    const native = context.abilities.nativeCopy;
    const rows = plan.tables.reduce((sum, t) => sum + t.rows, 0);
    const cloning = mayClone(context);
    const method = native?.method ?? STREAMED_COPY;
    return [
      ...(native?.scope === 'database' || cloning
        ? []
        : [`build the schema of release ${plan.sourceRelease} on staging with the shipped scripts`]),
      cloning
        ? `replace the empty staging database ${redactDatabaseUrl(plan.stagingUrl)} by a server-side clone of production (${plan.tables.length} tables, ${rows.toLocaleString('en')} rows), else copy table by table with ${method}`
        : `copy ${plan.tables.length} tables (${rows.toLocaleString('en')} rows) from production into staging ${redactDatabaseUrl(plan.stagingUrl)} with ${method}`,
      'verify every table on staging against production: row count and content checksum',
      ...(pathOf(plan) === 'online'
        ? [
            `online path: leave out ${Object.entries(LIVE_COLUMNS)
              .map(([table, columns]) => columns.map((c) => `${table}.${c}`).join(', '))
              .join(', ')} (${LIVE_COLUMNS_REASON}); copy a differing table again once before failing`,
            "then take production's freeze, the old nodes' rows and their acknowledgements out of staging (never out of production)",
          ]
        : []),
    ];
  },

  async run(context, previous) {
    const started = performance.now();
    const marks = new ResumeMarks(context.journal, stageStep, previous);
    const online = pathOf(context.plan) === 'online';
    let copy = await copyProduction(context, marks);
    let recopies = 0;
    let verified: Verification;
    for (;;) {
      try {
        verified = await verifyStaging(context, copy, marks, online ? LIVE_COLUMNS : {});
        break;
      } catch (error) {
        // See live-writes.ts: a frozen 2.0.1 node's last login re-hash may land just after the freeze.
        if (!online || recopies >= RECOPY_ROUNDS || !isTesseraError(error, 'VERIFY_FAILED')) throw error;
        recopies++;
        context.progress.line(
          'stage: tables differ from frozen production; copying them again once (a login of an old node may have re-hashed a legacy password just after the freeze)',
        );
        copy = await copyProduction(context, marks);
      }
    }
    tellVerified(context, copy, verified);
    const details = stageDetails(copy, verified, marks, started);
    if (!online) return details;
    const thaw = await thawStaging(copy.staging, freezeActor(context.journal.data.id));
    context.progress.line(
      `stage: staging left production's freeze behind (maintenance off there; ${thaw.nodeRowsRemoved} old node rows and ${thaw.acksRemoved} acknowledgements removed); production stays frozen`,
    );
    return {
      ...details,
      leftOut: { columns: LIVE_COLUMNS, reason: LIVE_COLUMNS_REASON },
      recopies,
      thaw,
    };
  },
};

/** Production as copied onto staging: the two databases, the tables, and how they were copied. */
interface StagedCopy {
  production: Database<unknown>;
  staging: Database<unknown>;
  tables: TableInfo[];
  method: string;
  clone: CloneOutcome;
  /** The engine copied the whole database file page by page: one digest of each file can verify it. */
  pagesCopied: boolean;
  copyMs: number;
}

/** Staging found equal to production: each table's comparison, and the page digest where one sufficed. */
interface Verification {
  comparisons: TableComparison[];
  pages: { digest: string } | undefined;
  verifyMs: number;
}

/**
 * Copies production into staging by the fastest path open (a server-side clone, the engine's whole-database
 * copy, else table by table), then sets the id generators on staging as production has them.
 */
async function copyProduction(context: UpgradeContext, marks: ResumeMarks): Promise<StagedCopy> {
  const copyStarted = performance.now();
  const clone = await cloneIfPossible(context, marks);
  const production = await context.production();
  const staging = await context.staging();
  const tables = await listTables(production);
  const native = context.abilities.nativeCopy;
  let method = clone.method ?? native?.method ?? STREAMED_COPY;
  if (clone.method !== undefined) {
    recordClonedTables(tables, marks, performance.now() - copyStarted);
  } else if (native?.scope === 'database') {
    await copyWholeDatabase(context, production, staging, tables, native, marks);
  } else {
    method = await copyTableByTable(context, { production, staging, tables, native, marks }, method);
    if (clone.refused !== undefined) method = `${method} (no clone: ${clone.refused})`;
  }
  await syncIdentities(staging, tables);
  // A clone and a page copy carry the generators along; a table-by-table copy sets them as production has
  // them, so that ids of rows deleted at the end are not handed out again.
  if (clone.method === undefined && native?.scope !== 'database')
    await copyNextIdentities(context, production, staging, tables);
  return {
    production,
    staging,
    tables,
    method,
    clone,
    pagesCopied: native?.scope === 'database',
    copyMs: performance.now() - copyStarted,
  };
}

/** What a table-by-table copy works with, beside the upgrade's context. */
interface TableByTable {
  production: Database<unknown>;
  staging: Database<unknown>;
  tables: readonly TableInfo[];
  native: NativeCopy | undefined;
  marks: ResumeMarks;
}

/**
 * Builds the source release's schema on staging (once), then copies every table not marked done, several
 * at once, parents before children unless the engine loads in any order. Returns the copy paths taken, or
 * `method` when no table needed copying.
 */
async function copyTableByTable(
  context: UpgradeContext,
  { production, staging, tables, native, marks }: TableByTable,
  method: string,
): Promise<string> {
  if (!marks.schemaBuilt) {
    // Resumable: a script MySQL stopped half-way continues at its next statement.
    await migrateTo(staging, context.plan.sourceRelease, { resume: true });
    marks.markSchemaBuilt();
  }
  // The paths the tables took: a native copy may not reach between two servers.
  const methods = new Set<string>();
  const byName = new Map(tables.map((t) => [t.name, t]));
  const skipsKeys = context.abilities.trustedCopySkipsForeignKeys;
  const anyOrder = skipsKeys !== undefined && (await skipsKeys(staging.db));
  const pending = tablesToCopy(tables, marks);
  // Emptied before any load, children first (a half copy is never continued; this also clears what the
  // release scripts put into staging): emptying a parent while its children load would cascade into them.
  marks.markCopying(pending.map((t) => t.name));
  for (const table of [...pending].reverse()) await emptyTable(staging, table.name);
  // Without foreign key checks any order loads: the largest tables first, so that the two lanes end
  // together instead of the largest table starting last behind its parents.
  if (anyOrder) pending.sort((a, b) => plannedRows(context, b.name) - plannedRows(context, a.name));
  await inDependencyOrder(
    pending,
    COPY_CONCURRENCY,
    (t) => (anyOrder ? [] : (t.parents ?? []).flatMap((p) => byName.get(p) ?? [])),
    (table) => copyTable({ context, production, staging, table, native, marks, methods }),
  );
  return methods.size > 0 ? [...methods].sort().join(' + ') : method;
}

/**
 * Checks staging against production: by page digest after a page copy, else table by table (count and
 * content checksum). Tables that differ are marked for copying again, then the step stops naming them.
 */
async function verifyStaging(
  context: UpgradeContext,
  { production, staging, tables, pagesCopied }: StagedCopy,
  marks: ResumeMarks,
  /** Columns a live writer moves on production (the online path's heartbeats), left out of the comparison. */
  leaveOut: Readonly<Record<string, readonly string[]>>,
): Promise<Verification> {
  const started = performance.now();
  const pages = pagesCopied ? await samePages(context, production, staging, tables) : undefined;
  const comparisons =
    pages?.comparisons ??
    (await compareContent(production, staging, tables, { progress: context.progress, leaveOut }));
  const differing = comparisons.filter((c) => !c.same).map((c) => c.table);
  // A resumed run copies them again, with the tables that reference them (see tablesToCopy).
  if (differing.length > 0) marks.markCopying(differing);
  assertSameContent(
    comparisons,
    `Staging ${staging.label} does not hold what production holds`,
    'Production is untouched. Run the same command with --resume to copy the tables named here again.',
  );
  return { comparisons, pages, verifyMs: performance.now() - started };
}

function tellVerified(context: UpgradeContext, copy: StagedCopy, { comparisons }: Verification): void {
  const rows = comparisons.reduce((sum, c) => sum + c.copy.rows, 0);
  context.progress.line(
    `Staging verified: ${comparisons.length} tables, ${rows.toLocaleString('en')} rows equal to production.`,
  );
  // A clone copied no rows itself: the rows it brought are the ones the verification counted.
  if (copy.clone.method !== undefined)
    context.progress.line(
      `  rows cloned: ${comparisons.map((c) => `${c.table} ${c.copy.rows.toLocaleString('en')}`).join(', ')}`,
    );
}

function stageDetails(
  copy: StagedCopy,
  { comparisons, pages, verifyMs }: Verification,
  marks: ResumeMarks,
  started: number,
): StageDetails {
  const { clone, copyMs } = copy;
  const rows = comparisons.reduce((sum, c) => sum + c.copy.rows, 0);
  return {
    method: copy.method,
    ...(clone.method !== undefined ? { cloneMethod: clone.method } : { schemaBuilt: marks.schemaBuilt }),
    ...(clone.clone !== undefined ? { clone: clone.clone } : {}),
    // One digest over both files' pages stands for every table's content (each table's `checksum` names it).
    ...(pages !== undefined ? { pageDigest: pages.digest } : {}),
    verification: pages
      ? `page for page equal to production (SHA-256 ${pages.digest} of both files, header counters aside) and row counts`
      : 'row count and content checksum of every table',
    tables: Object.fromEntries(
      comparisons.map((c) => [
        c.table,
        { ...marks.entry(c.table), status: 'done' as const, rows: c.copy.rows, checksum: c.copy.checksum },
      ]),
    ),
    rows,
    copyMs: Math.round(copyMs),
    verifyMs: Math.round(verifyMs),
    rowsPerSecond: Math.round(rows / Math.max(0.001, copyMs / 1000)),
    durationMs: Math.round(performance.now() - started),
  };
}

async function copyNextIdentities(
  context: UpgradeContext,
  production: Database<unknown>,
  staging: Database<unknown>,
  tables: readonly TableInfo[],
): Promise<void> {
  const { identities } = context.abilities;
  if (identities === undefined) return;
  for (const table of tables) {
    if (table.identity === undefined) continue;
    const next = await identities.next(production.db, table.name, table.identity);
    if (next !== undefined) await identities.set(staging.db, table.name, table.identity, next);
  }
}

/**
 * The tables not recorded done, with every table that references one of them: emptying a table on staging
 * before its copy may cascade into the rows of the tables that reference it, done or not.
 */
function tablesToCopy(tables: readonly TableInfo[], marks: ResumeMarks): TableInfo[] {
  const redo = new Set(tables.filter((t) => !marks.isDone(t.name)).map((t) => t.name));
  // Parents come first in `tables`, so one pass reaches every descendant.
  for (const table of tables) {
    if ((table.parents ?? []).some((parent) => redo.has(parent))) redo.add(table.name);
  }
  return tables.filter((t) => redo.has(t.name));
}

function plannedRows(context: UpgradeContext, table: string): number {
  return context.plan.tables.find((t) => t.name === table)?.rows ?? 0;
}

/**
 * Whether a server-side clone may be tried: read from the URLs, so that a dry run opens nothing. Never on the
 * online path: a template copy needs production free of sessions, and the old nodes keep theirs open (a
 * refused try would also forget, on a resumed attempt, the schema already built on staging).
 */
function mayClone(context: UpgradeContext): boolean {
  const { plan, options } = context;
  return (
    options.noClone !== true &&
    pathOf(plan) !== 'online' &&
    context.abilities.clone !== undefined &&
    sameServer(
      parseDatabaseUrl(plan.productionUrl, context.oldLayout.root),
      parseDatabaseUrl(plan.stagingUrl, context.newLayout.root),
    )
  );
}

/**
 * Has the server clone production into staging when it can. Every connection is closed first (a template
 * copy needs both databases free of sessions) and reopened by the caller's next use. A refusal (another
 * session on production, no right to create databases) changes nothing and the copy goes table by table.
 */
/** How the clone went: its method once it cloned, or why the server refused. Empty: not tried. */
interface CloneOutcome {
  method?: string;
  refused?: string;
  clone?: CloneFacts;
}

async function cloneIfPossible(context: UpgradeContext, marks: ResumeMarks): Promise<CloneOutcome> {
  if (!mayClone(context)) return {};
  if (marks.cloneMethod !== undefined && context.plan.tables.every((t) => marks.isDone(t.name))) {
    return { method: marks.cloneMethod };
  }
  const { clone } = context.abilities;
  if (clone === undefined) return {};
  const production = await context.production();
  const staging = await context.staging();
  await context.closeConnections();
  // Whatever the clone's outcome, staging is then either production's copy or empty: the schema an
  // earlier attempt built must be built again should the copy go table by table.
  marks.schemaBuilt = false;
  marks.markCopying(context.plan.tables.map((t) => t.name));
  // A line, not a task: the server copies files in one statement, and a meter of rows would read 0 rows/s.
  context.progress.line('stage: the server clones production into staging ...');
  const started = performance.now();
  const result = await clone(production.target, staging.target);
  if (!result.cloned) {
    context.progress.line(`stage: no server-side clone (${result.reason}); copying table by table`);
    return { refused: result.reason };
  }
  const ms = Math.round(performance.now() - started);
  context.progress.line(
    `stage: cloned ${result.bytes === undefined ? 'production' : formatBytesJedec(result.bytes)} in ${(ms / 1000).toFixed(2)} s (${result.method}); the verification counts the rows`,
  );
  crashPoint('stage:batch');
  marks.cloneMethod = result.method;
  return {
    method: result.method,
    clone: { ms, ...(result.bytes !== undefined ? { bytes: result.bytes } : {}) },
  };
}

/** Every table came with the clone; the verification that follows counts their rows. */
function recordClonedTables(tables: readonly TableInfo[], marks: ResumeMarks, durationMs: number): void {
  for (const table of tables) {
    if (marks.isDone(table.name)) continue;
    marks.finish(table.name, undefined, Math.round(durationMs));
    crashPoint('stage:table');
  }
}

/**
 * After a page-by-page copy, staging's file must hold production's pages exactly: one SHA-256 over each file
 * says so for every table at once, far faster than reading every row. Undefined when the digests differ or
 * cannot be taken, and the tables are then compared one by one (which also names the ones that differ).
 */
async function samePages(
  context: UpgradeContext,
  production: Database<unknown>,
  staging: Database<unknown>,
  tables: readonly TableInfo[],
): Promise<{ digest: string; comparisons: TableComparison[] } | undefined> {
  const { pageDigest } = context.abilities;
  if (pageDigest === undefined) return undefined;
  const task = context.progress.task('verify (page digests of both files)');
  const [original, copy] = [await pageDigest(production.db), await pageDigest(staging.db)];
  if (original === undefined || original !== copy) {
    task.done('files differ; comparing table by table');
    return undefined;
  }
  task.done(`equal (${original.slice(0, 16)}…)`);
  const comparisons: TableComparison[] = [];
  for (const table of tables) {
    const content = { rows: await countRows(staging, table.name), checksum: `pages:${original}` };
    comparisons.push({ table: table.name, original: content, copy: content, same: true });
  }
  return { digest: original, comparisons };
}

/** The engine copies the whole database at once; tables are all redone unless every one was finished. */
async function copyWholeDatabase(
  context: UpgradeContext,
  production: Database<unknown>,
  staging: Database<unknown>,
  tables: readonly TableInfo[],
  native: Extract<NativeCopy, { scope: 'database' }>,
  marks: ResumeMarks,
): Promise<void> {
  if (tables.every((t) => marks.isDone(t.name))) return;
  const started = performance.now();
  marks.markCopying(tables.map((t) => t.name));
  const task = context.progress.task(`stage (${native.method})`);
  await native.copy(production.db, staging.db, () => crashPoint('stage:batch'));
  task.done('copied');
  const durationMs = Math.round(performance.now() - started);
  for (const table of tables) {
    marks.finish(table.name, await countRows(staging, table.name), durationMs);
    crashPoint('stage:table');
  }
}

/** One table's copy: from where to where, by which path, and where its progress is marked. */
interface TableCopy {
  context: UpgradeContext;
  production: Database<unknown>;
  staging: Database<unknown>;
  table: TableInfo;
  /** The engine's own copy between two of its databases; absent: rows streamed into bulk inserts. */
  native: NativeCopy | undefined;
  marks: ResumeMarks;
  /** Collects the path each table took, for the step's `method`. */
  methods: Set<string>;
}

/** Copies one table, emptied beforehand, from production into staging. */
async function copyTable({
  context,
  production,
  staging,
  table,
  native,
  marks,
  methods,
}: TableCopy): Promise<void> {
  const started = performance.now();
  marks.markCopying([table.name]);
  const planned = context.plan.tables.find((t) => t.name === table.name)?.rows;
  const task = context.progress.task(`stage ${table.name}`, planned);
  let bytes = 0;
  const onBatch = (rows: number, batchBytes: number): void => {
    bytes += batchBytes;
    task.advance(rows, batchBytes);
    crashPoint('stage:batch');
  };
  const natively =
    native?.scope === 'table' ? await native.copy(production.db, staging.db, table, onBatch) : undefined;
  const rows =
    natively ??
    (await staging.dialect.bulkInsert(
      staging.db,
      table.name,
      table.columns,
      eachRow(streamRows(production, table)),
      { trustedCopy: true, onBatch },
    ));
  methods.add(natively !== undefined && native ? native.method : STREAMED_COPY);
  // Fresh statistics, so that verifying (and the later steps) read staging through its indexes.
  await staging.dialect.refreshStatistics(staging.db, table.name);
  const durationMs = Math.round(performance.now() - started);
  task.done(`${rows.toLocaleString('en')} rows in ${(durationMs / 1000).toFixed(2)} s`);
  marks.finish(table.name, rows, durationMs, bytes);
  crashPoint('stage:table');
}
