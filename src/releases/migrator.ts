import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/connection.js';
import { TesseraError } from '../errors.js';
import { ensureHistoryTable, HISTORY_TABLE, historyDb, readHistory } from './history.js';
import { schemaLevelOf } from './level.js';
import { releasesUpTo, shipsScripts, upgradePath } from './matrix.js';
import { type ReleaseScript, releaseScripts } from './scripts.js';

export interface MigrationProgress {
  version: string;
  script: string;
  statement: number;
  total: number;
}

export interface MigrateOptions {
  /** Continue a script that stopped half-way (non-transactional DDL) instead of refusing. */
  resume?: boolean;
  onStatement?: (progress: MigrationProgress) => void;
  now?: () => number;
}

/**
 * Applies every release from the database's level (or nothing) up to `target`, hop by hop, and returns those
 * whose scripts it ran.
 */
export async function migrateTo<S>(
  typed: Database<S>,
  target: string,
  options: MigrateOptions = {},
): Promise<string[]> {
  const database = typed as unknown as Database<unknown>;
  await ensureHistoryTable(database.db);
  const state = schemaLevelOf(await readHistory(database.db));
  if (state.retired) {
    throw new TesseraError(
      'SCHEMA_RETIRED',
      'This database was retired by an upgrade; it is never migrated again.',
    );
  }
  // A release that changes code only has nothing to apply: its database is at its predecessor's level.
  const hops = (state.level === undefined ? releasesUpTo(target) : upgradePath(state.level, target)).filter(
    shipsScripts,
  );
  const unfinishedVersion = state.unfinished[0]?.version;
  const pending =
    unfinishedVersion !== undefined && !hops.includes(unfinishedVersion)
      ? [unfinishedVersion, ...hops]
      : hops;
  for (const version of pending) await applyRelease(database, version, options);
  return pending;
}

/** Applies one release's scripts, each recorded in the schema history with statement-level progress. */
export async function applyRelease<S>(
  typed: Database<S>,
  version: string,
  options: MigrateOptions = {},
): Promise<void> {
  const database = typed as unknown as Database<unknown>;
  await ensureHistoryTable(database.db);
  for (const script of releaseScripts(version, database.kind)) {
    const existing = await historyDb(database.db)
      .selectFrom(HISTORY_TABLE)
      .selectAll()
      .where('version', '=', version)
      .where('script', '=', script.name)
      .executeTakeFirst();
    if (existing && existing.checksum !== script.checksum) {
      throw new TesseraError(
        'SCHEMA_TAMPERED',
        `Script ${version}/${database.kind}/${script.name} was applied with checksum ${existing.checksum}, but this build ships ${script.checksum}.`,
        { hint: 'Restore the database from its backup or use the Tessera build that applied it.' },
      );
    }
    if (existing?.finished_at != null) continue;
    if (database.dialect.transactionalDdl) {
      await applyAtomically(database, script, options);
    } else {
      if (existing && existing.statements_applied < 0) {
        throw new TesseraError(
          'SCHEMA_INCOMPLETE',
          `Statement ${-existing.statements_applied} of ${version}/${database.kind}/${script.name} was interrupted while it ran; ${database.kind} cannot roll DDL back, so whether it took effect is unknown.`,
          {
            hint: 'Never guess: restore this database from its backup (or empty the staging database) and run the upgrade again.',
          },
        );
      }
      if (existing && existing.statements_applied > 0 && !options.resume) {
        throw new TesseraError(
          'SCHEMA_INCOMPLETE',
          `Script ${version}/${database.kind}/${script.name} stopped after ${existing.statements_applied} of ${existing.statements_total} statements.`,
          { hint: 'Run the upgrade again with --resume to continue from the next statement.' },
        );
      }
      await applyStatementByStatement(
        database,
        script,
        existing?.statements_applied ?? 0,
        existing !== undefined,
        options,
      );
    }
  }
}

/** The progress event once `applied` statements of `script` have run. */
function progressAfter(script: ReleaseScript, applied: number): MigrationProgress {
  return {
    version: script.version,
    script: script.name,
    statement: applied,
    total: script.statements.length,
  };
}

/** The columns of a script's history row that say which script it is, whatever its progress. */
function historyRowOf(script: ReleaseScript) {
  return {
    version: script.version,
    script: script.name,
    checksum: script.checksum,
    statements_total: script.statements.length,
  };
}

/** Where DDL is transactional the whole script and its history row commit together, or not at all. */
async function applyAtomically(
  database: Database<unknown>,
  script: ReleaseScript,
  options: MigrateOptions,
): Promise<void> {
  const now = options.now ?? Date.now;
  const started = now();
  await database.db.transaction().execute(async (trx) => {
    for (const [index, statement] of script.statements.entries()) {
      await sql.raw(statement).execute(trx);
      options.onStatement?.(progressAfter(script, index + 1));
    }
    const finished = now();
    await historyDb(trx as Kysely<unknown>)
      .insertInto(HISTORY_TABLE)
      .values({
        ...historyRowOf(script),
        statements_applied: script.statements.length,
        started_at: started,
        finished_at: finished,
        duration_ms: finished - started,
      })
      .execute();
  });
}

/**
 * Where each DDL statement commits on its own (MySQL), progress is written before and after every
 * statement, so an interrupted script resumes at the first statement that did not run, and a statement
 * interrupted while running is refused rather than run twice.
 */
async function applyStatementByStatement(
  database: Database<unknown>,
  script: ReleaseScript,
  alreadyApplied: number,
  rowExists: boolean,
  options: MigrateOptions,
): Promise<void> {
  const now = options.now ?? Date.now;
  const history = historyDb(database.db);
  const started = now();
  if (!rowExists) {
    await history
      .insertInto(HISTORY_TABLE)
      .values({
        ...historyRowOf(script),
        statements_applied: 0,
        started_at: started,
        finished_at: null,
        duration_ms: null,
      })
      .execute();
  }
  const setApplied = (value: number) =>
    history
      .updateTable(HISTORY_TABLE)
      .set({ statements_applied: value })
      .where('version', '=', script.version)
      .where('script', '=', script.name)
      .execute();
  for (let index = alreadyApplied; index < script.statements.length; index++) {
    // A negative count marks statement n as started: if the process dies before it is recorded as done,
    // a resume refuses instead of running a statement that may already have taken effect.
    await setApplied(-(index + 1));
    try {
      await sql.raw(script.statements[index] as string).execute(database.db);
    } catch (error) {
      // The engine refused the statement, so it did not take effect: the next attempt may run it again.
      await setApplied(index);
      throw error;
    }
    await setApplied(index + 1);
    options.onStatement?.(progressAfter(script, index + 1));
  }
  const finished = now();
  const row = await history
    .selectFrom(HISTORY_TABLE)
    .select('started_at')
    .where('version', '=', script.version)
    .where('script', '=', script.name)
    .executeTakeFirstOrThrow();
  await history
    .updateTable(HISTORY_TABLE)
    .set({ finished_at: finished, duration_ms: finished - row.started_at })
    .where('version', '=', script.version)
    .where('script', '=', script.name)
    .execute();
}
