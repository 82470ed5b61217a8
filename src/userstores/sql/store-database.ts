import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/connection.js';
import { type DatabaseTarget, redactDatabaseUrl, sameDatabase } from '../../db/url.js';
import { TesseraError } from '../../errors.js';
import { storeTablesProblem } from './store-tables.js';
import { homeRelativeFolder } from './tenant-sqlite-path.js';

/**
 * The refusal for a secondary store on the server's own database (it would share the PRIMARY store's
 * tables), or undefined when the store's URL names another one. URLs only: the same database under
 * another host name is caught once connected, by `storeDatabaseRefusal`.
 */
export function serverDatabaseRefusal(
  url: string,
  target: DatabaseTarget,
  serverDatabase: DatabaseTarget | undefined,
): TesseraError | undefined {
  if (serverDatabase === undefined || !sameDatabaseFollowingLinks(target, serverDatabase)) return undefined;
  return ownDatabaseRefusal(url);
}

function ownDatabaseRefusal(url: string): TesseraError {
  return new TesseraError(
    'BAD_REQUEST',
    `${redactDatabaseUrl(url)} is the server's own database; a secondary user store needs a database of its own.`,
    { hint: 'Create a separate database (or SQLite file) for the store and point its url there.' },
  );
}

/** An open database of any schema: the checks here read only the engine's catalog. */
type AnyDatabase = Pick<Database<unknown>, 'dialect'> & { db: Pick<Kysely<unknown>, 'introspection'> };

const identities = new WeakMap<object, Promise<string>>();

/** The database's identity (`Dialect.databaseIdentity`), asked once per open database. */
export function databaseIdentityOf(database: AnyDatabase): Promise<string> {
  let known = identities.get(database);
  if (known === undefined) {
    // Any schema's Kysely runs the dialect's raw SQL; its table types are invariant, hence the cast.
    known = database.dialect.databaseIdentity(database.db as Kysely<unknown>);
    // A failed question (a dropped connection) is asked again next time.
    known.catch(() => identities.delete(database));
    identities.set(database, known);
  }
  return known;
}

/**
 * Why an opened database may not hold a secondary store, or undefined when it may: it is the server's own
 * database whatever host name, address or port spelling reached it (compared by the server's own
 * identifier and the database's name), or it holds tables that are not a store's.
 */
export async function storeDatabaseRefusal(
  url: string,
  database: AnyDatabase,
  serverIdentity: string | undefined,
): Promise<TesseraError | undefined> {
  if (serverIdentity !== undefined && (await databaseIdentityOf(database)) === serverIdentity)
    return ownDatabaseRefusal(url);
  const problem = storeTablesProblem(await database.db.introspection.getTables());
  if (problem === undefined) return undefined;
  return new TesseraError('BAD_REQUEST', `${redactDatabaseUrl(url)}: ${problem}`, {
    hint: 'Create an empty database for the store and point its url there.',
  });
}

/** `sameDatabase`, with SQLite files compared by real path: a link to the server's file is that file. */
export function sameDatabaseFollowingLinks(a: DatabaseTarget, b: DatabaseTarget): boolean {
  if (sameDatabase(a, b)) return true;
  if (!('file' in a && 'file' in b)) return false;
  try {
    return realPath(a.file) === realPath(b.file);
  } catch {
    return false;
  }
}

/**
 * Refuses a SQLite store file outside `folder` (a tenant's own folder): a tenant admin must not open,
 * probe or write the server's files or another tenant's. Symbolic links are followed on both sides, also
 * for a file that does not exist yet (its nearest existing parent is resolved). The answer is the same
 * whether or not the file exists, so that it cannot be used to learn which files the server has.
 * Other kinds of database are left alone.
 */
export function assertSqliteInside(url: string, target: DatabaseTarget, folder: string, home: string): void {
  if (!('file' in target)) return;
  let relative: string;
  try {
    relative = path.relative(realPath(folder), realPath(target.file));
  } catch {
    // A path that cannot be resolved (no permission to look) is not shown to be inside.
    relative = '..';
  }
  const inside =
    relative !== '' &&
    relative !== '..' &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative);
  if (inside) return;
  // The folder is named both ways a tenant admin may write a path (tenant-sqlite-path.ts), never by
  // its absolute path on the server.
  const homeForm = homeRelativeFolder(folder, home);
  throw new TesseraError(
    'FORBIDDEN',
    `A tenant's SQLite user store must be a file inside the tenant's own folder; ${redactDatabaseUrl(url)} is not. Name the file relative to that folder (sqlite:partners.db, sqlite:stores/partners.db), which is ${homeForm}/ in the home (sqlite:${homeForm}/partners.db).`,
    { hint: "Use a path inside the tenant's folder, or ask the super tenant's admin to add the store." },
  );
}

/** The real path of `file`, resolving the nearest existing ancestor when it does not exist (yet). */
function realPath(file: string): string {
  const missing: string[] = [];
  let existing = path.resolve(file);
  for (;;) {
    try {
      return path.join(realpathSync(existing), ...missing);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const parent = path.dirname(existing);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === existing) throw error;
      missing.unshift(path.basename(existing));
      existing = parent;
    }
  }
}
