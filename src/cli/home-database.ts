import { type Database, openDatabase } from '../db/connection.js';
import { TesseraError } from '../errors.js';

/**
 * Runs `body` on the database `url` names for a command on `home`, and closes it. A driver's failure to
 * connect becomes DB_CONNECT_FAILED naming the URL as the config writes it (the driver's own words after it).
 */
export async function withHomeDatabase<T, S = unknown>(
  url: string,
  home: string,
  body: (database: Database<S>) => Promise<T>,
): Promise<T> {
  let database: Database<S>;
  try {
    database = await openDatabase<S>(url, home);
  } catch (error) {
    if (error instanceof TesseraError) throw error;
    throw new TesseraError('DB_CONNECT_FAILED', `Cannot open ${url}: ${(error as Error).message}`);
  }
  try {
    return await body(database);
  } finally {
    await database.close();
  }
}

/** Refuses a database without the tables a command reads (a 1.x database, or none of Tessera's). */
export async function assertTablesPresent<S>(database: Database<S>, names: readonly string[]): Promise<void> {
  const present = new Set((await database.db.introspection.getTables()).map((table) => table.name));
  const missing = names.filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw new TesseraError(
      'BAD_USAGE',
      `${database.label} has no ${missing.join(' or ')} table (not a Tessera 2.0 database, or never started).`,
      { hint: 'Run tessera status --home to see the database’s schema level.' },
    );
  }
}
