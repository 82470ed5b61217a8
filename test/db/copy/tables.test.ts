import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../../src/db/connection.js';
import { listTables, orderParentsFirst, type TableInfo } from '../../../src/db/copy/tables.js';
import type { IntrospectedTable } from '../../../src/db/dialect.js';
import { migrateTo } from '../../../src/releases/migrator.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../../helpers/databases.js';

const PRIMARY_KEYS: Record<string, string[]> = {
  audit_log: ['id'],
  cluster_nodes: ['node_id'],
  registry_properties: ['resource_id', 'name'],
  registry_resources: ['id'],
  roles: ['id'],
  store_domains: ['id'],
  tenants: ['id'],
  tessera_schema_history: ['version', 'script'],
  user_attributes: ['user_id', 'name'],
  user_roles: ['user_id', 'role_id'],
  users: ['id'],
};

/** Parents first, and among tables free to go next, by name. */
const ORDER = [
  'audit_log',
  'cluster_nodes',
  'tenants',
  'tessera_schema_history',
  'registry_resources',
  'roles',
  'store_domains',
  'users',
  'registry_properties',
  'user_attributes',
  'user_roles',
];

describe.each(DATABASE_KINDS)('listTables on %s at 2.0.0', (kind) => {
  let scratch: ScratchDatabase;
  let database: Database<unknown>;
  let tables: TableInfo[];

  beforeAll(async () => {
    scratch = await scratchDatabase(kind, 'tables');
    database = await openDatabase<unknown>(scratch.url, scratch.home);
    await migrateTo(database, '2.0.0');
    tables = await listTables(database);
  });
  afterAll(async () => {
    await database?.close();
    await scratch?.drop();
  });

  it('orders every table after the tables its foreign keys reference', () => {
    expect(tables.map((t) => t.name)).toEqual(ORDER);
    const introspected = new Map<string, number>(tables.map((t, i) => [t.name, i]));
    expect(introspected.get('tenants')).toBeLessThan(introspected.get('users') as number);
    expect(introspected.get('users')).toBeLessThan(introspected.get('user_roles') as number);
    expect(introspected.get('roles')).toBeLessThan(introspected.get('user_roles') as number);
  });

  it('reports the primary key columns in key order, SQLite INTEGER PRIMARY KEY included', () => {
    expect(Object.fromEntries(tables.map((t) => [t.name, t.primaryKey]))).toEqual(PRIMARY_KEYS);
  });

  it('reports the foreign keys and the generated id columns', async () => {
    const introspected = await database.dialect.introspect(database.db);
    const userRoles = introspected.find((t) => t.name === 'user_roles');
    expect(
      userRoles?.foreignKeys
        .map((k) => ({ ...k, referencedColumns: k.referencedColumns }))
        .sort((a, b) => a.referencedTable.localeCompare(b.referencedTable)),
    ).toEqual([
      { columns: ['role_id'], referencedTable: 'roles', referencedColumns: ['id'] },
      { columns: ['user_id'], referencedTable: 'users', referencedColumns: ['id'] },
    ]);
    const identity = Object.fromEntries(tables.map((t) => [t.name, t.identity]));
    for (const table of ['users', 'roles', 'store_domains', 'registry_resources', 'audit_log']) {
      expect(identity[table]).toBe('id');
    }
    for (const table of ['user_roles', 'cluster_nodes', 'tessera_schema_history']) {
      expect(identity[table]).toBeUndefined();
    }
    // tenants.id is given by Tessera, but on SQLite every INTEGER PRIMARY KEY is the rowid.
    expect(identity.tenants).toBe(kind === 'sqlite' ? 'id' : undefined);
  });
});

describe('orderParentsFirst', () => {
  const table = (name: string, ...parents: string[]): IntrospectedTable => ({
    name,
    columns: [{ name: 'id', type: 'integer', nullable: false }],
    indexes: [],
    primaryKey: ['id'],
    foreignKeys: parents.map((p) => ({ columns: ['id'], referencedTable: p, referencedColumns: ['id'] })),
  });

  it('ignores references to the table itself and to tables outside the list', () => {
    const ordered = orderParentsFirst([table('b', 'a', 'b'), table('a', 'elsewhere'), table('c', 'b')]);
    expect(ordered.map((t) => t.name)).toEqual(['a', 'b', 'c']);
  });

  it('refuses tables that reference each other in a cycle', () => {
    expect(() => orderParentsFirst([table('a', 'b'), table('b', 'a'), table('c')])).toThrow(
      /a, b reference each other/,
    );
  });
});
