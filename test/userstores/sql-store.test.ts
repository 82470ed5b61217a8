import type { Kysely, KyselyPlugin, RootOperationNode } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Schema } from '../../src/db/schema.js';
import { TesseraError } from '../../src/errors.js';
import { primaryStore } from '../../src/userstores/sql/sql-store.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  clearUserTables,
  errorCodeOf,
  insertLegacyUser,
  readOnlyStore,
  type ServerDatabase,
  serverDatabase,
} from './helpers.js';

const ACME = 1;
const GLOBEX = 2;

/** Counts the statements a store sends, to hold listing to one query per table. */
function countingPlugin(): { plugin: KyselyPlugin; count: () => number } {
  let statements = 0;
  return {
    plugin: {
      transformQuery: ({ node }) => {
        statements++;
        return node;
      },
      transformResult: async ({ result }) => result,
    },
    count: () => statements,
  };
}

/** Makes every UPDATE fail, as a database refusing the re-hash write would. */
const failingUpdates: KyselyPlugin = {
  transformQuery: ({ node }): RootOperationNode => {
    if (node.kind === 'UpdateQueryNode') throw new Error('update refused for the test');
    return node;
  },
  transformResult: async ({ result }) => result,
};

describe.each(DATABASE_KINDS)('the PRIMARY store on %s', (kind) => {
  let server: ServerDatabase;
  let db: Kysely<Schema>;

  beforeAll(async () => {
    server = await serverDatabase(kind, { [ACME]: 'acme.com', [GLOBEX]: 'globex.com' });
    db = server.database.db;
  });
  afterAll(async () => {
    await server?.dispose();
  });
  beforeEach(async () => {
    await clearUserTables(db);
  });

  it('adds, reads, lists and deletes users with their roles and attributes', async () => {
    const store = primaryStore(db, ACME);
    await store.addRole('staff');
    await store.addRole('ops');
    const long = 'λ'.repeat(5_000) + 'x'.repeat(5_000);
    const added = await store.addUser({
      username: 'alice',
      password: 'wonderland',
      roles: ['staff', 'ops', 'staff'],
      attributes: { mail: 'alice@acme.com', displayName: 'Zoë Ångström 山田 🚀', notes: long },
    });
    expect(added).toEqual({
      username: 'alice',
      roles: ['ops', 'staff'],
      attributes: { mail: 'alice@acme.com', displayName: 'Zoë Ångström 山田 🚀', notes: long },
      system: false,
    });
    expect(await store.getUser('alice')).toEqual(added);
    expect(await store.listUsers({ limit: 10, offset: 0 })).toEqual([added]);
    expect(await store.listRoles({ limit: 10, offset: 0 })).toEqual(['ops', 'staff']);

    expect(await store.deleteUser('alice')).toBe(true);
    expect(await store.getUser('alice')).toBeUndefined();
    expect(await store.deleteUser('alice')).toBe(false);
    expect(await store.getRole('staff')).toEqual({ name: 'staff', users: [], system: false });
    expect(await store.deleteRole('staff')).toBe(true);
    expect(await store.deleteRole('staff')).toBe(false);
    expect(await store.listRoles({ limit: 10, offset: 0 })).toEqual(['ops']);
  });

  it('pages users by name and prefix, with one query per table whatever the page size', async () => {
    const store = primaryStore(db, ACME);
    await store.addRole('staff');
    for (const username of ['carol', 'a_b', 'axb', 'Ann', 'bob']) {
      await store.addUser({
        username,
        password: 'pw',
        roles: ['staff'],
        attributes: { mail: `${username}@acme.com` },
      });
    }
    const names = async (page: { prefix?: string; limit: number; offset: number }) =>
      (await store.listUsers(page)).map((u) => u.username);
    // Code-point order, as on SQLite and MariaDB's binary collation; PostgreSQL's collation may differ.
    const all = await names({ limit: 10, offset: 0 });
    expect([...all].sort()).toEqual(['Ann', 'a_b', 'axb', 'bob', 'carol']);
    expect(await names({ limit: 2, offset: 1 })).toEqual(all.slice(1, 3));
    expect(await names({ prefix: 'a_', limit: 10, offset: 0 })).toEqual(['a_b']);
    expect(await names({ prefix: 'a', limit: 10, offset: 0 })).toEqual(['a_b', 'axb']);
    expect(await names({ limit: 0, offset: 0 })).toEqual([]);
    expect(await errorCodeOf(store.listUsers({ limit: 5_000, offset: 0 }))).toBe('BAD_REQUEST');

    const counter = countingPlugin();
    const counted = primaryStore(db.withPlugin(counter.plugin), ACME);
    const page = await counted.listUsers({ limit: 10, offset: 0 });
    expect(page).toHaveLength(5);
    expect(page.every((u) => u.roles[0] === 'staff' && u.attributes.mail === `${u.username}@acme.com`)).toBe(
      true,
    );
    expect(counter.count()).toBe(3);
  });

  it('keeps tenants apart: same names, separate users, roles that do not cross', async () => {
    const acme = primaryStore(db, ACME);
    const globex = primaryStore(db, GLOBEX);
    await acme.addRole('auditors');
    await acme.addUser({
      username: 'alice',
      password: 'acme-pw',
      roles: ['auditors'],
      attributes: { org: 'acme' },
    });
    await globex.addUser({ username: 'alice', password: 'globex-pw', attributes: { org: 'globex' } });

    expect((await acme.getUser('alice'))?.attributes).toEqual({ org: 'acme' });
    expect(await globex.getUser('alice')).toEqual({
      username: 'alice',
      roles: [],
      attributes: { org: 'globex' },
      system: false,
    });
    expect(await acme.authenticate('alice', 'globex-pw')).toBeUndefined();
    expect((await globex.authenticate('alice', 'globex-pw'))?.attributes).toEqual({ org: 'globex' });

    // acme's role is invisible in globex, and cannot be assigned there by name.
    expect(await globex.getRole('auditors')).toBeUndefined();
    expect(await globex.listRoles({ limit: 10, offset: 0 })).toEqual([]);
    expect(await errorCodeOf(globex.addUser({ username: 'bob', password: 'pw', roles: ['auditors'] }))).toBe(
      'BAD_REQUEST',
    );
    expect(await globex.getUser('bob')).toBeUndefined();
    expect(await errorCodeOf(globex.setUserRoles('alice', ['auditors']))).toBe('BAD_REQUEST');
    expect(await globex.deleteRole('auditors')).toBe(false);
    // Nor can globex make acme's users members of its own roles.
    await acme.addUser({ username: 'carol', password: 'pw' });
    expect(await errorCodeOf(globex.addRole('readers', ['carol']))).toBe('BAD_REQUEST');
    expect(await globex.getRole('readers')).toBeUndefined();

    expect((await acme.listUsers({ limit: 10, offset: 0 })).map((u) => u.username)).toEqual([
      'alice',
      'carol',
    ]);
    expect((await globex.listUsers({ limit: 10, offset: 0 })).map((u) => u.username)).toEqual(['alice']);
    expect(await globex.deleteUser('alice')).toBe(true);
    expect((await acme.getUser('alice'))?.roles).toEqual(['auditors']);
    expect(await acme.getRole('auditors')).toEqual({ name: 'auditors', users: ['alice'], system: false });
  });

  it('refuses duplicates with CONFLICT and unknown roles with BAD_REQUEST naming them', async () => {
    const store = primaryStore(db, ACME);
    await store.addRole('staff');
    await store.addUser({ username: 'alice', password: 'pw' });
    expect(await errorCodeOf(store.addUser({ username: 'alice', password: 'other' }))).toBe('CONFLICT');
    expect(await errorCodeOf(store.addRole('staff'))).toBe('CONFLICT');
    const unknown = await store
      .addUser({ username: 'bob', password: 'pw', roles: ['staff', 'ghosts', 'wizards'] })
      .catch((e) => e);
    expect(unknown).toBeInstanceOf(TesseraError);
    expect(unknown.code).toBe('BAD_REQUEST');
    expect(unknown.message).toContain('ghosts, wizards');
    expect(unknown.message).not.toContain('staff');
    // The whole add is refused: no half-made user.
    expect(await store.getUser('bob')).toBeUndefined();
    expect(await errorCodeOf(store.addUser({ username: 'bad name', password: 'pw' }))).toBe('BAD_REQUEST');
  });

  it('manages role membership from both sides', async () => {
    const store = primaryStore(db, ACME);
    await store.addRole('ops');
    await store.addUser({ username: 'alice', password: 'pw' });
    await store.addUser({ username: 'bob', password: 'pw' });
    await store.addRole('devs', ['bob', 'alice']);
    expect(await store.getRole('devs')).toEqual({ name: 'devs', users: ['alice', 'bob'], system: false });
    expect(await store.setUserRoles('alice', ['ops', 'devs'])).toBe(true);
    expect((await store.getUser('alice'))?.roles).toEqual(['devs', 'ops']);
    expect(await store.setUserRoles('nobody', ['ops'])).toBe(false);
    expect(await store.deleteRole('devs')).toBe(true);
    expect((await store.getUser('alice'))?.roles).toEqual(['ops']);
    expect((await store.getUser('bob'))?.roles).toEqual([]);
    expect(await store.setUserRoles('alice', [])).toBe(true);
    expect((await store.getUser('alice'))?.roles).toEqual([]);
  });

  it('refuses to delete system users and roles', async () => {
    const store = primaryStore(db, ACME);
    await db
      .insertInto('users')
      .values({
        tenant_id: ACME,
        username: 'admin',
        password_hash: 'x',
        password_salt: '',
        password_algorithm: 'argon2id',
        is_system: 1,
        created_at: 1,
      })
      .execute();
    await db
      .insertInto('roles')
      .values({ tenant_id: ACME, name: 'admin', is_system: 1, created_at: 1 })
      .execute();
    expect((await store.getUser('admin'))?.system).toBe(true);
    expect(await errorCodeOf(store.deleteUser('admin'))).toBe('FORBIDDEN');
    expect(await errorCodeOf(store.deleteRole('admin'))).toBe('FORBIDDEN');
    expect(await store.getUser('admin')).toBeDefined();
    expect((await store.getRole('admin'))?.system).toBe(true);
  });

  it('a read-only store refuses every write and still reads and authenticates', async () => {
    await primaryStore(db, ACME).addUser({ username: 'alice', password: 'pw' });
    await primaryStore(db, ACME).addRole('staff');
    const store = readOnlyStore(db, ACME);
    const writes: Promise<unknown>[] = [
      store.addUser({ username: 'bob', password: 'pw' }),
      store.deleteUser('alice'),
      store.setPassword('alice', 'new'),
      store.setUserRoles('alice', ['staff']),
      store.addRole('ops'),
      store.deleteRole('staff'),
    ];
    for (const write of writes) expect(await errorCodeOf(write)).toBe('READ_ONLY_STORE');
    expect((await store.authenticate('alice', 'pw'))?.username).toBe('alice');
    expect(await store.listRoles({ limit: 10, offset: 0 })).toEqual(['staff']);
  });

  it('verifies a legacy SHA-256 password, stores it again as argon2id, and still accepts it', async () => {
    await insertLegacyUser(db, ACME, 'legacy', 'old-secret');
    const store = primaryStore(db, ACME);
    expect(await store.authenticate('legacy', 'wrong')).toBeUndefined();
    const before = await db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', 'legacy')
      .executeTakeFirstOrThrow();
    expect(before.password_algorithm).toBe('sha256');

    expect((await store.authenticate('legacy', 'old-secret'))?.username).toBe('legacy');
    const after = await db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', 'legacy')
      .executeTakeFirstOrThrow();
    expect(after.password_algorithm).toBe('argon2id');
    expect(after.password_salt).toBe('');
    expect(after.password_hash.startsWith('$argon2id$')).toBe(true);
    expect((await store.authenticate('legacy', 'old-secret'))?.username).toBe('legacy');
    expect(await store.authenticate('legacy', 'wrong')).toBeUndefined();
  });

  it('lets a legacy login succeed when the re-hash cannot be written', async () => {
    await insertLegacyUser(db, ACME, 'legacy', 'old-secret');
    const store = primaryStore(db.withPlugin(failingUpdates), ACME);
    expect((await store.authenticate('legacy', 'old-secret'))?.username).toBe('legacy');
    const row = await db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', 'legacy')
      .executeTakeFirstOrThrow();
    expect(row.password_algorithm).toBe('sha256');
  });

  it('answers a wrong password and an unknown user alike, both after an argon2 verification', async () => {
    const store = primaryStore(db, ACME);
    await store.addUser({ username: 'alice', password: 'right' });
    expect((await store.authenticate('alice', 'right'))?.username).toBe('alice');
    expect(await store.authenticate('alice', 'wrong')).toBeUndefined();
    const started = performance.now();
    expect(await store.authenticate('nobody', 'wrong')).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThan(3);
    expect(await store.authenticate('not a valid name', 'wrong')).toBeUndefined();
    expect(await primaryStore(db, GLOBEX).authenticate('alice', 'right')).toBeUndefined();

    expect(await store.setPassword('alice', 'changed')).toBe(true);
    expect(await store.authenticate('alice', 'right')).toBeUndefined();
    expect((await store.authenticate('alice', 'changed'))?.username).toBe('alice');
    expect(await store.setPassword('nobody', 'x')).toBe(false);
  });
});
