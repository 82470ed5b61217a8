import { realpathSync } from 'node:fs';
import path from 'node:path';
import { type DatabaseTarget, redactDatabaseUrl, sameDatabase } from '../db/url.js';
import { TesseraError } from '../errors.js';

/**
 * The refusal for a secondary store on the server's own database (it would share the PRIMARY store's
 * tables), or undefined when the store's database is another one.
 */
export function serverDatabaseRefusal(
  url: string,
  target: DatabaseTarget,
  serverDatabase: DatabaseTarget | undefined,
): TesseraError | undefined {
  if (serverDatabase === undefined || !sameDatabaseFollowingLinks(target, serverDatabase)) return undefined;
  return new TesseraError(
    'BAD_REQUEST',
    `${redactDatabaseUrl(url)} is the server's own database; a secondary user store needs a database of its own.`,
    { hint: 'Create a separate database (or SQLite file) for the store and point its url there.' },
  );
}

/** `sameDatabase`, with SQLite files compared by real path: a link to the server's file is that file. */
export function sameDatabaseFollowingLinks(a: DatabaseTarget, b: DatabaseTarget): boolean {
  if (sameDatabase(a, b)) return true;
  if (a.kind !== 'sqlite' || b.kind !== 'sqlite') return false;
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
export function assertSqliteInside(url: string, target: DatabaseTarget, folder: string): void {
  if (target.kind !== 'sqlite') return;
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
  throw new TesseraError(
    'FORBIDDEN',
    `A tenant's SQLite user store must be a file inside the tenant's own folder; ${redactDatabaseUrl(url)} is not.`,
    { hint: `Use a path under ${folder}, or ask the super tenant's admin to add the store.` },
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
