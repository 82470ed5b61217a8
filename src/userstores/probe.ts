import { existsSync } from 'node:fs';
import { type Database, openDatabase } from '../db/connection.js';
import { type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl, sameDatabase } from '../db/url.js';
import { verifyLdapDirectory } from './ldap/verify.js';
import type { StoreDefinition } from './store-file.js';

export type ProbeResult = { ok: true } | { ok: false; error: string };

export interface ProbeOptions {
  /** The home, which relative SQLite paths resolve against. */
  home: string;
  /** The server's own database, which a secondary store may not use. */
  serverDatabase?: DatabaseTarget;
  /** How long opening a JDBC store's database may take (default 10 s). */
  timeoutMs?: number;
}

/** The tables a JDBC store uses, with the columns Tessera reads from each. */
const STORE_TABLES: Record<string, readonly string[]> = {
  users: ['id', 'tenant_id', 'username', 'password_hash', 'password_salt', 'password_algorithm', 'is_system'],
  roles: ['id', 'tenant_id', 'name', 'is_system'],
  user_roles: ['user_id', 'role_id'],
  user_attributes: ['user_id', 'name', 'value'],
};

/**
 * Tries a store definition without saving or changing anything: a JDBC store's database opens and its
 * store tables are either all absent (Tessera creates them) or all there with their columns; an LDAP
 * store's directory accepts the bind DN and has both search bases. Never throws; the error is fit to show
 * an operator and never carries a password.
 */
export async function probeStoreDefinition(
  definition: StoreDefinition,
  options: ProbeOptions,
): Promise<ProbeResult> {
  try {
    let problem: string | undefined;
    if (definition.type === 'ldap') await verifyLdapDirectory(definition.url, definition.ldap);
    else problem = await jdbcProblem(definition.url, options);
    return problem === undefined ? { ok: true } : { ok: false, error: problem };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

async function jdbcProblem(url: string, options: ProbeOptions): Promise<string | undefined> {
  const target = parseDatabaseUrl(url, options.home);
  if (options.serverDatabase && sameDatabase(target, options.serverDatabase))
    return `${redactDatabaseUrl(url)} is the server's own database; a secondary user store needs a database of its own.`;
  // Opening a missing SQLite file would create it; the store creates it (and its tables) when added.
  if (target.kind === 'sqlite' && !existsSync(target.file)) return undefined;
  const database = await withTimeout(
    openDatabase<unknown>(url, options.home),
    options.timeoutMs ?? 10_000,
    `Cannot open the user store database ${redactDatabaseUrl(url)}: no answer within ${options.timeoutMs ?? 10_000} ms`,
  );
  try {
    return await storeTablesProblem(database);
  } finally {
    await database.close().catch(() => {});
  }
}

async function storeTablesProblem(database: Database<unknown>): Promise<string | undefined> {
  const tables = await database.db.introspection.getTables();
  const byName = new Map(tables.map((t) => [t.name.toLowerCase(), t]));
  const present = Object.keys(STORE_TABLES).filter((name) => byName.has(name));
  if (present.length === 0) return undefined;
  const missing = Object.keys(STORE_TABLES).filter((name) => !byName.has(name));
  if (missing.length > 0) {
    return `The database has the store table${present.length > 1 ? 's' : ''} ${present.join(', ')} but not ${missing.join(', ')}; it does not look like a Tessera user store.`;
  }
  for (const [name, columns] of Object.entries(STORE_TABLES)) {
    const have = new Set(byName.get(name)?.columns.map((c) => c.name.toLowerCase()));
    const lacking = columns.filter((c) => !have.has(c));
    if (lacking.length > 0)
      return `The table ${name} lacks the column${lacking.length > 1 ? 's' : ''} ${lacking.join(', ')}.`;
  }
  return undefined;
}

async function withTimeout<T extends { close(): Promise<void> }>(
  opening: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Whatever opens after giving up is closed rather than leaked.
      opening.then((opened) => opened.close()).catch(() => {});
      reject(new Error(message));
    }, ms);
  });
  try {
    return await Promise.race([opening, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
