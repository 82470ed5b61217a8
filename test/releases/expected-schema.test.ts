import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import {
  buildSchemaSnapshot,
  describeDifference,
  diffSchemas,
  expectedSchema,
  renderSchemaSnapshot,
  type SchemaTable,
  schemaAdditions,
} from '../../src/releases/expected-schema.js';
import { RELEASES } from '../../src/releases/matrix.js';
import { DATABASE_KINDS, scratchDatabase } from '../helpers/databases.js';

const VERSIONS = RELEASES.map((r) => r.version);

describe.each(DATABASE_KINDS)('expected schemas on %s', (kind) => {
  it.each(VERSIONS)('the %s snapshot is what the scripts build in a fresh database', async (release) => {
    const scratch = await scratchDatabase(kind, 'schema');
    try {
      const database = await openDatabase<unknown>(scratch.url, scratch.home);
      try {
        const fresh = await buildSchemaSnapshot(database, release);
        const differences = diffSchemas(expectedSchema(release, kind), fresh.tables).map(describeDifference);
        // On a difference: the scripts changed, so run `npx vite-node scripts/snapshot-schemas.ts`.
        expect(differences).toEqual([]);
        expect(fresh.tables.map((t) => t.name)).toEqual(expectedSchema(release, kind).map((t) => t.name));
      } finally {
        await database.close();
      }
    } finally {
      await scratch.drop();
    }
  });
});

describe('expected schema snapshots', () => {
  it('renders what it reads back', () => {
    const tables = expectedSchema('2.0.0', 'postgres');
    const rendered = renderSchemaSnapshot({ release: '2.0.0', kind: 'postgres', tables });
    expect(JSON.parse(rendered)).toEqual({ release: '2.0.0', kind: 'postgres', tables });
  });

  it('lists what 2.0.0 adds to 1.0.0: new tables, and new columns of the tables that were there', () => {
    for (const kind of DATABASE_KINDS) {
      const additions = schemaAdditions(expectedSchema('1.0.0', kind), expectedSchema('2.0.0', kind));
      expect(additions.tables.sort()).toEqual([
        'audit_log',
        'cluster_nodes',
        'registry_properties',
        'registry_resources',
        'store_domains',
      ]);
      expect(additions.columns.sort()).toEqual([
        'roles.is_system',
        'users.is_system',
        'users.password_algorithm',
      ]);
    }
  });

  it("lists what 2.1.0 adds to 2.0.0 and to 2.0.1 (its schema level): app versions, tenant settings, login failures, app sessions, TOTP authenticators, OpenID Connect, when a password was set, nodes' app reports", () => {
    for (const kind of DATABASE_KINDS) {
      for (const from of ['2.0.0', '2.0.1']) {
        const additions = schemaAdditions(expectedSchema(from, kind), expectedSchema('2.1.0', kind));
        expect(additions.tables.sort()).toEqual([
          'app_sessions',
          'login_failures',
          'oidc_clients',
          'oidc_keys',
          'oidc_payloads',
          'tenant_settings',
          'totp_authenticators',
          'totp_recovery_codes',
          'webapp_version_chunks',
          'webapp_versions',
          'webapps',
        ]);
        expect(additions.columns).toEqual(['cluster_nodes.apps_status', 'users.password_changed_at']);
      }
    }
  });
});

describe('diffSchemas', () => {
  const expected: SchemaTable[] = [
    {
      name: 'users',
      columns: [
        { name: 'id', type: 'integer', nullable: false },
        { name: 'name', type: 'varchar(255)', nullable: false },
        { name: 'note', type: 'text', nullable: true },
      ],
      indexes: [
        { name: 'users_pkey', columns: ['id'], unique: true },
        { name: 'users_name_uq', columns: ['name'], unique: true },
      ],
    },
    { name: 'roles', columns: [{ name: 'id', type: 'integer', nullable: false }], indexes: [] },
  ];

  it('finds nothing between a schema and itself, whatever the order of its parts', () => {
    const reordered = expected
      .map((t) => ({ ...t, columns: [...t.columns].reverse(), indexes: [...t.indexes].reverse() }))
      .reverse();
    expect(diffSchemas(expected, reordered)).toEqual([]);
  });

  it('lists every missing, extra and different table, column and index', () => {
    const actual: SchemaTable[] = [
      {
        name: 'users',
        columns: [
          { name: 'id', type: 'bigint', nullable: false },
          { name: 'note', type: 'text', nullable: false },
          { name: 'extra', type: 'text', nullable: true },
        ],
        indexes: [
          { name: 'users_pkey', columns: ['id', 'note'], unique: true },
          { name: 'users_note_idx', columns: ['note'], unique: false },
        ],
      },
      { name: 'leftover', columns: [], indexes: [] },
    ];
    expect(diffSchemas(expected, actual).map(describeDifference)).toEqual([
      'column users.id is bigint, expected integer',
      'column users.name is missing',
      'column users.note is not null, expected nullable',
      'column users.extra is not expected',
      'index users_pkey on users is unique (id, note), expected unique (id)',
      'index users_name_uq on users is missing',
      'index users_note_idx on users is not expected',
      'table roles is missing',
      'table leftover is not expected',
    ]);
  });
});
