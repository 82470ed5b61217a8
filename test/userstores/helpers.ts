import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import pino, { type Logger } from 'pino';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { Schema } from '../../src/db/schema.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { TesseraError } from '../../src/errors.js';
import type { HomeLayout } from '../../src/home/layout.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { migrateTo } from '../../src/releases/migrator.js';
import { UserStoreManager, type UserStoreManagerOptions } from '../../src/userstores/manager.js';
import { legacySha256 } from '../../src/userstores/passwords.js';
import type { StoreSchema } from '../../src/userstores/sql/sql-schema.js';
import { SqlUserStore } from '../../src/userstores/sql/sql-store.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';

export interface ServerDatabase {
  scratch: ScratchDatabase;
  database: Database;
  dispose(): Promise<void>;
}

/** A fresh server database at the current release, with the given tenants. */
export async function serverDatabase(
  kind: DatabaseKind,
  tenants: Record<number, string>,
): Promise<ServerDatabase> {
  const scratch = await scratchDatabase(kind, 'userstores');
  const database = await openDatabase(scratch.url, scratch.home);
  await migrateTo(database, CURRENT_RELEASE);
  for (const [id, domain] of Object.entries(tenants)) {
    await database.db
      .insertInto('tenants')
      .values({ id: Number(id), domain, admin_username: 'admin', active: 1, created_at: Date.now() })
      .execute();
  }
  return {
    scratch,
    database,
    async dispose() {
      await database.close();
      await scratch.drop();
    },
  };
}

/** A read-only JDBC store named RO over the server database's own user tables, for tenant `tenantId`. */
export function readOnlyStore(db: Kysely<Schema>, tenantId: number): SqlUserStore {
  return new SqlUserStore({
    db: db as unknown as Kysely<StoreSchema>,
    tenantId,
    domain: 'RO',
    kind: 'jdbc',
    readOnly: true,
  });
}

/** Empties the user tables between tests. */
export async function clearUserTables(db: Kysely<Schema>): Promise<void> {
  await db.deleteFrom('user_roles').execute();
  await db.deleteFrom('user_attributes').execute();
  await db.deleteFrom('users').execute();
  await db.deleteFrom('roles').execute();
}

/** A user row as Tessera 1.x left it: hex SHA-256 of a hex salt followed by the password. */
export async function insertLegacyUser(
  db: Kysely<Schema>,
  tenantId: number,
  username: string,
  password: string,
): Promise<void> {
  const salt = randomBytes(16).toString('hex');
  await db
    .insertInto('users')
    .values({
      tenant_id: tenantId,
      username,
      password_hash: legacySha256(password, salt),
      password_salt: salt,
      password_algorithm: 'sha256',
      is_system: 0,
      created_at: Date.now(),
    })
    .execute();
}

/** The code of the TesseraError `work` rejects with (fails the test when it resolves or throws another error). */
export async function errorCodeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (error instanceof TesseraError) return error.code;
    throw error;
  }
  throw new Error('expected a TesseraError, but it succeeded');
}

/** Waits for `probe` to return something other than undefined/false, checking every 25 ms, at most `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A pino logger whose JSON lines are kept in memory. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

/** What a test may set on a manager beside the database, the home and the logger that {@link startedManager} gives. */
export type ManagerTuning = Omit<UserStoreManagerOptions, 'database' | 'layout' | 'logger'>;

/**
 * A manager over `server`'s database and `layout`'s home, started for `tenants`, whose log lines are kept in
 * `lines` so that a test can read what it said. The caller closes it.
 */
export async function startedManager(
  server: ServerDatabase,
  layout: HomeLayout,
  tenants: readonly number[],
  tuning: ManagerTuning = {},
): Promise<{ manager: UserStoreManager; lines: string[] }> {
  const { logger, lines } = capturingLogger();
  const manager = new UserStoreManager({ database: server.database, layout, logger, ...tuning });
  await manager.start(tenants);
  return { manager, lines };
}
