import path from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { parseDatabaseUrl } from '../../src/db/url.js';
import { StoreConnections } from '../../src/userstores/sql/connections.js';
import { ensureJdbcStoreSchema, type StoreSchema } from '../../src/userstores/sql/sql-schema.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';

/** The scratch database's URL wherever it is resolved from (a SQLite file by its absolute path). */
function absoluteUrl(s: ScratchDatabase): string {
  return s.url.startsWith('sqlite:') ? `sqlite:${path.join(s.home, s.url.slice('sqlite:'.length))}` : s.url;
}

async function tableNames(database: Database<StoreSchema>): Promise<string[]> {
  // introspect takes any schema; Kysely's types are invariant in it, hence the cast.
  const tables = await database.dialect.introspect(database.db as unknown as Kysely<unknown>);
  return tables.map((t) => t.name);
}

describe.each(DATABASE_KINDS)('store databases the server must not write, on %s', (kind) => {
  const scratches: ScratchDatabase[] = [];
  const connections: StoreConnections[] = [];
  afterEach(async () => {
    for (const c of connections.splice(0)) await c.closeAll();
    for (const s of scratches.splice(0)) await s.drop();
  });

  async function scratch(label: string): Promise<ScratchDatabase> {
    const created = await scratchDatabase(kind, label);
    scratches.push(created);
    return created;
  }

  it('opens them read-only: the engine refuses a write, and no store tables are created', async () => {
    const shared = await scratch('shared');
    const other = await scratch('notables');
    const setup = await openDatabase<unknown>(absoluteUrl(shared), shared.home);
    await ensureJdbcStoreSchema(setup);
    await setup.close();
    const marked = await openDatabase<unknown>(absoluteUrl(other), other.home);
    await sql`create table marker (id integer)`.execute(marked.db);
    await marked.close();
    const readOnly = [shared, other].map((s) => parseDatabaseUrl(absoluteUrl(s), s.home));
    const storeConnections = new StoreConnections(shared.home, undefined, undefined, readOnly);
    connections.push(storeConnections);

    const lease = await storeConnections.acquire(absoluteUrl(shared));
    expect(lease.readOnly).toBe(true);
    await expect(
      sql`insert into roles (tenant_id, name, is_system, created_at) values (1, 'x', 0, 0)`.execute(
        lease.database.db,
      ),
    ).rejects.toThrow(/read.?only/i);
    const rows = await sql<{ n: number }>`select count(*) as n from roles`.execute(lease.database.db);
    expect(Number(rows.rows[0]?.n)).toBe(0);

    const withoutTables = await storeConnections.acquire(absoluteUrl(other));
    expect(withoutTables.readOnly).toBe(true);
    expect(await tableNames(withoutTables.database)).toEqual(['marker']);
  });

  it('opens any other store database as before, its tables ensured', async () => {
    const other = await scratch('other');
    const protectedOne = await scratch('protected');
    const storeConnections = new StoreConnections(other.home, undefined, undefined, [
      parseDatabaseUrl(absoluteUrl(protectedOne), protectedOne.home),
    ]);
    connections.push(storeConnections);
    const lease = await storeConnections.acquire(absoluteUrl(other));
    expect(lease.readOnly).toBe(false);
    expect(await tableNames(lease.database)).toEqual(['roles', 'user_attributes', 'user_roles', 'users']);
  });
});
