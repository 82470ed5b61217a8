import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { HISTORY_TABLE, historyDb } from '../../src/releases/history.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { applyRelease, migrateTo } from '../../src/releases/migrator.js';
import { releaseScripts } from '../../src/releases/scripts.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';

describe.each(DATABASE_KINDS)('migrations on %s', (kind) => {
  let scratch: ScratchDatabase;
  let database: Database<unknown>;

  afterEach(async () => {
    await database?.close();
    await scratch?.drop();
  });

  async function open(): Promise<void> {
    scratch = await scratchDatabase(kind, 'migrate');
    database = await openDatabase<unknown>(scratch.url, scratch.home);
  }

  it('builds a fresh database at the current release through every release, recorded in the history', async () => {
    await open();
    const applied = await migrateTo(database, CURRENT_RELEASE);
    expect(applied).toEqual(['1.0.0', '1.1.0', '2.0.0', '2.1.0']);
    const history = await historyDb(database.db)
      .selectFrom(HISTORY_TABLE)
      .selectAll()
      .orderBy('version')
      .execute();
    expect(history.map((h) => [h.version, h.script, h.statements_applied === h.statements_total])).toEqual([
      ['1.0.0', 'migration.sql', true],
      ['1.1.0', 'migration.sql', true],
      ['2.0.0', 'migration.sql', true],
      ['2.1.0', 'migration.sql', true],
    ]);
    for (const row of history) {
      expect(row.checksum).toBe(releaseScripts(row.version, kind)[0]?.checksum);
      expect(row.finished_at).not.toBeNull();
    }
    const tables = (await database.dialect.introspect(database.db)).map((t) => t.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        'tenants',
        'users',
        'roles',
        'user_roles',
        'user_attributes',
        'store_domains',
        'registry_resources',
        'cluster_nodes',
        'audit_log',
        'webapp_versions',
        'webapp_version_chunks',
        'webapps',
      ]),
    );
    expect(await migrateTo(database, CURRENT_RELEASE)).toEqual([]);
  });

  it('migrates data written at 1.0.0 through 1.1.0, 2.0.0 and 2.1.0', async () => {
    await open();
    await migrateTo(database, '1.0.0');
    await sql`insert into tenants (id, domain, admin_username, active, created_at) values (1, 'acme.com', 'admin', 1, 5)`.execute(
      database.db,
    );
    await sql`insert into users (id, tenant_id, username, password_hash, password_salt, created_at) values (7, 1, 'admin', 'h', 's', 5), (8, 1, 'bob', 'h2', 's2', 6)`.execute(
      database.db,
    );
    await sql`insert into roles (id, tenant_id, name, created_at) values (3, 1, 'admin', 5)`.execute(
      database.db,
    );
    await sql`insert into user_attributes (user_id, name, value) values (8, 'mail', 'bob@acme.com')`.execute(
      database.db,
    );
    expect(await migrateTo(database, CURRENT_RELEASE)).toEqual(['1.1.0', '2.0.0', '2.1.0']);
    const users = await sql<{ username: string; is_system: number; password_algorithm: string }>`
      select username, is_system, password_algorithm from users order by id`.execute(database.db);
    expect(users.rows).toEqual([
      { username: 'admin', is_system: 1, password_algorithm: 'sha256' },
      { username: 'bob', is_system: 0, password_algorithm: 'sha256' },
    ]);
    const domains = await sql<{
      tenant_id: number;
      name: string;
    }>`select tenant_id, name from store_domains`.execute(database.db);
    expect(domains.rows).toEqual([{ tenant_id: 1, name: 'PRIMARY' }]);
    const long = 'x'.repeat(5000);
    await sql`update user_attributes set value = ${long} where user_id = 8`.execute(database.db);
    const attr = await sql<{ value: string }>`select value from user_attributes where user_id = 8`.execute(
      database.db,
    );
    expect(attr.rows[0]?.value).toBe(long);
  });

  it('refuses to re-apply a script whose applied checksum differs', async () => {
    await open();
    await migrateTo(database, '1.0.0');
    await historyDb(database.db)
      .updateTable(HISTORY_TABLE)
      .set({ checksum: 'f'.repeat(64) })
      .execute();
    await expect(applyRelease(database, '1.0.0')).rejects.toMatchObject({ code: 'SCHEMA_TAMPERED' });
  });
});

describe('an interrupted MySQL statement', () => {
  it('is refused on resume when the history says it started and never finished', async () => {
    const scratch = await scratchDatabase('mysql', 'interrupted');
    const database = await openDatabase<unknown>(scratch.url, scratch.home);
    try {
      await migrateTo(database, '1.0.0');
      // What a kill -9 between "statement 2 started" and "statement 2 done" leaves behind.
      await historyDb(database.db)
        .insertInto(HISTORY_TABLE)
        .values({
          version: '1.1.0',
          script: 'migration.sql',
          checksum: releaseScripts('1.1.0', 'mysql')[0]?.checksum as string,
          statements_total: 9,
          statements_applied: -2,
          started_at: 1,
          finished_at: null,
          duration_ms: null,
        })
        .execute();
      await expect(migrateTo(database, '2.0.0', { resume: true })).rejects.toMatchObject({
        code: 'SCHEMA_INCOMPLETE',
        message: expect.stringContaining('Statement 2'),
      });
    } finally {
      await database.close();
      await scratch.drop();
    }
  });

  it('is run again after the engine refused it, since a refused statement took no effect', async () => {
    const scratch = await scratchDatabase('mysql', 'refused');
    const database = await openDatabase<unknown>(scratch.url, scratch.home);
    try {
      await migrateTo(database, '1.0.0');
      // A table in the way makes 1.1.0's first statement fail.
      await sql`create table store_domains (x int)`.execute(database.db);
      await expect(migrateTo(database, '1.1.0')).rejects.toThrow();
      const row = await historyDb(database.db)
        .selectFrom(HISTORY_TABLE)
        .selectAll()
        .where('version', '=', '1.1.0')
        .executeTakeFirstOrThrow();
      expect(row.statements_applied).toBe(0);
      await sql`drop table store_domains`.execute(database.db);
      expect(await migrateTo(database, '2.0.0', { resume: true })).toEqual(['1.1.0', '2.0.0']);
    } finally {
      await database.close();
      await scratch.drop();
    }
  });
});
