import { populatePartnerStores } from '../fixtures/partner-stores.js';
import { legacySha256 } from '../fixtures/passwords.js';
import { ADMIN_USERNAME } from '../fixtures/population.js';
import { flatMapRows, mapRows } from '../fixtures/rows.js';
import { tomlString } from '../fixtures/toml.js';
import type { FixtureTarget, ReleaseFixture } from '../fixtures/types.js';
import { migrateTo } from '../migrator.js';

/**
 * FROZEN: a home and database as Tessera 1.0.0 left them. Tenants, the primary store with salted SHA-256
 * passwords, roles and attributes (values up to 255 characters); no store domains, no system flags.
 */
export const release100: ReleaseFixture = {
  release: '1.0.0',
  population: { seed: 0x0001_0000, createdFrom: Date.UTC(2023, 0, 1) },

  renderConfig(databaseUrl) {
    return `# Tessera 1.0 configuration (written by tessera fixture).

[http]
port = 9763

[database]
# sqlite:PATH (relative to the home), postgres://user@host:port/db or mysql://user@host:port/db
dsn = ${tomlString(databaseUrl)}

[security]
hash_algorithm = "SHA-256"

[logging]
level = "info"
`;
  },

  async populate(target: FixtureTarget) {
    const { population, password } = target;
    await migrateTo(target.main, '1.0.0', { now: target.migrationClock });
    await target.load(
      'main',
      'tenants',
      ['id', 'domain', 'admin_username', 'active', 'created_at'],
      mapRows(population.tenants(), (t) => [t.id, t.domain, ADMIN_USERNAME, t.active ? 1 : 0, t.createdAt]),
    );
    await target.load(
      'main',
      'roles',
      ['id', 'tenant_id', 'name', 'created_at'],
      mapRows(population.roles(), (r) => [r.id, r.tenantId, r.name, r.createdAt]),
    );
    await target.load(
      'main',
      'users',
      ['id', 'tenant_id', 'username', 'password_hash', 'password_salt', 'created_at'],
      mapRows(population.accounts(), (a) => [
        a.id,
        a.tenantId,
        a.username,
        legacySha256(password, a.salt),
        a.salt,
        a.createdAt,
      ]),
    );
    // Both reference users and roles only, so they load side by side on engines with several connections.
    await Promise.all([
      target.load(
        'main',
        'user_roles',
        ['user_id', 'role_id'],
        flatMapRows(population.accounts(), (a) => a.roleIds.map((roleId) => [a.id, roleId])),
      ),
      target.load(
        'main',
        'user_attributes',
        ['user_id', 'name', 'value'],
        flatMapRows(population.accounts(), (a) => a.attributes.map(([name, value]) => [a.id, name, value])),
      ),
    ]);
    for (const table of ['users', 'roles'])
      await target.main.dialect.syncIdentity(target.main.db, table, 'id');
    await populatePartnerStores(target, (a) => [legacySha256(password, a.salt), a.salt, 'sha256']);
  },
};
