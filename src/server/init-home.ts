import { existsSync } from 'node:fs';
import { DEFAULT_DATABASE_URL } from '../config/schema.js';
import { type Database, openDatabase } from '../db/connection.js';
import { parseDatabaseUrl } from '../db/url.js';
import { TesseraError } from '../errors.js';
import { homeLayout } from '../home/layout.js';
import { inspectSchema, type SchemaState } from '../releases/guard.js';
import {
  createFirstDatabase,
  type FirstAdminOptions,
  layOutHome,
  writeDefaultConfig,
} from './first-start.js';

export interface InitOptions extends FirstAdminOptions {
  home: string;
  /** The database the home is to use (default: the embedded SQLite one); it must be empty. */
  databaseUrl?: string;
}

export interface InitSummary {
  home: string;
  configFile: string;
  /** The database URL, password redacted. */
  database: string;
}

/**
 * `tessera init`: what a first start does before it listens (the home's folders, the default config, the
 * database at the current release with the super tenant's `admin`), without starting a server. Only on a
 * new home and an empty database: it never takes over what another home or an earlier run made.
 */
export async function initHome(options: InitOptions): Promise<InitSummary> {
  const layout = homeLayout(options.home);
  if (existsSync(layout.configFile)) {
    throw new TesseraError(
      'BAD_USAGE',
      `${layout.configFile} already exists: ${layout.root} is already a Tessera home.`,
      { hint: `Run it with tessera start --home ${layout.root}, or pass --home with a new folder.` },
    );
  }
  const url = options.databaseUrl ?? DEFAULT_DATABASE_URL;
  // A mistyped URL is refused before anything is written.
  parseDatabaseUrl(url, layout.root);
  // The database is checked before the home is laid out, so that a refusal leaves the home as it was.
  const { database, state } = await openAndInspect(url, layout.root);
  try {
    if (state.status !== 'empty') throw notEmpty(database.label, state, options.databaseUrl !== undefined);
    layOutHome(layout);
    await createFirstDatabase(database, options);
    // Last: a home with a config is a finished one, and the next init refuses it.
    writeDefaultConfig(layout, options.databaseUrl);
    return { home: layout.root, configFile: layout.configFile, database: database.label };
  } finally {
    await database.close();
  }
}

async function openAndInspect(
  url: string,
  home: string,
): Promise<{ database: Database; state: SchemaState }> {
  let database: Database | undefined;
  try {
    database = await openDatabase(url, home);
    return { database, state: await inspectSchema(database) };
  } catch (error) {
    await database?.close().catch(() => {});
    if (error instanceof TesseraError) throw error;
    throw new TesseraError('DB_CONNECT_FAILED', `Cannot open ${url}: ${(error as Error).message}`, {
      cause: error,
      hint: 'Check that the database server runs and that the database exists (create it, empty), then run tessera init again.',
    });
  }
}

function notEmpty(label: string, state: SchemaState, fromOption: boolean): TesseraError {
  const holds =
    state.status === 'foreign'
      ? 'holds tables but no Tessera schema history'
      : `already holds a Tessera database${'level' in state && state.level ? ` at schema level ${state.level}` : ''}`;
  return new TesseraError('BAD_USAGE', `Database ${label} ${holds}; tessera init only creates a new one.`, {
    hint: fromOption
      ? 'Pass --db with a new, empty database.'
      : 'Pass --home with a new folder (or --db with a new, empty database).',
  });
}
