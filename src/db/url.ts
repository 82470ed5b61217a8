import path from 'node:path';
import { TesseraError } from '../errors.js';

export type DatabaseKind = 'sqlite' | 'postgres' | 'mysql';

export type DatabaseTarget =
  | { kind: 'sqlite' /** absolute path of the file */; file: string }
  | {
      kind: 'postgres' | 'mysql';
      host: string;
      port: number;
      user: string;
      password: string | undefined;
      database: string;
    };

const DEFAULT_PORTS = { postgres: 5432, mysql: 3306 } as const;

/**
 * Parses the database URLs (README, Configuration): `sqlite:PATH` (relative to the home), `postgres://user@host:port/db`,
 * `mysql://user@host:port/db` (MariaDB too; `mariadb://` is accepted as a synonym).
 */
export function parseDatabaseUrl(url: string, home: string): DatabaseTarget {
  const file = writtenFilePath(url);
  if (file !== undefined) {
    if (file.length === 0) throw invalid(url, 'the SQLite path is empty');
    return { kind: 'sqlite', file: path.resolve(home, file) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(url, 'it is not a URL');
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  const kind =
    scheme === 'postgres' || scheme === 'postgresql'
      ? 'postgres'
      : scheme === 'mysql' || scheme === 'mariadb'
        ? 'mysql'
        : undefined;
  if (kind === undefined) throw invalid(url, `unknown scheme "${scheme}"`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database.length === 0 || database.includes('/')) throw invalid(url, 'it names no database');
  return {
    kind,
    // An IPv6 address comes bracketed (`[::1]`), which drivers would look up as a host name.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : DEFAULT_PORTS[kind],
    user: decodeURIComponent(parsed.username) || (kind === 'postgres' ? 'postgres' : 'root'),
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database,
  };
}

/** The path a file URL (`sqlite:PATH`) writes, relative or absolute as written; undefined for a server URL. */
export function writtenFilePath(url: string): string | undefined {
  return url.startsWith('sqlite:') ? url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : undefined;
}

/** The file a target names when its engine keeps the database in a file; undefined for a server database. */
export function targetFile(target: DatabaseTarget): string | undefined {
  return 'file' in target ? target.file : undefined;
}

/** Where a target's database lies, for messages: its file, or `shop on db.internal:5432`. */
export function describeTarget(target: DatabaseTarget): string {
  return 'file' in target ? target.file : `${target.database} on ${target.host}:${target.port}`;
}

/** Whether two targets name the same database (the same file, or the same database on the same server). */
export function sameDatabase(a: DatabaseTarget, b: DatabaseTarget): boolean {
  if (a.kind === 'sqlite' || b.kind === 'sqlite')
    return a.kind === b.kind && a.kind === 'sqlite' && b.kind === 'sqlite' && a.file === b.file;
  return a.kind === b.kind && a.host === b.host && a.port === b.port && a.database === b.database;
}

/** Whether two targets are databases of one server (same engine, host and port), where a server-side copy can reach both. */
export function sameServer(a: DatabaseTarget, b: DatabaseTarget): boolean {
  if (a.kind === 'sqlite' || b.kind === 'sqlite') return false;
  return a.kind === b.kind && a.host === b.host && a.port === b.port;
}

/**
 * The URL (or any text holding URLs, such as an error message) with every password masked, `user:password@`
 * and a `password=` query parameter alike: the one redaction for everything that leaves memory (logs,
 * messages, the upgrade journal and report).
 */
export function redactDatabaseUrl(text: string): string {
  return text
    .replace(/\/\/([^:@/\s]*):[^@/\s]*@/g, '//$1:***@')
    .replace(/([?&](?:password|passwd|pwd)=)[^&#\s]*/gi, '$1***');
}

/** The same server, another database: how tests and the upgrade name a sibling database. */
export function withDatabaseName(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

function invalid(url: string, why: string): TesseraError {
  return new TesseraError(
    'DB_URL_INVALID',
    `Database URL "${redactDatabaseUrl(url)}" is not valid: ${why}.`,
    {
      hint: 'Use sqlite:PATH, postgres://user@host:port/db or mysql://user@host:port/db.',
    },
  );
}
