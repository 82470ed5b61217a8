import { populatePartnerStores } from '../fixtures/partner-stores.js';
import { legacySha256 } from '../fixtures/passwords.js';
import { ADMIN_USERNAME } from '../fixtures/population.js';
import { flatMapRows, mapRows } from '../fixtures/rows.js';
import { tomlString } from '../fixtures/toml.js';
import type { FixtureTarget, ReleaseFixture } from '../fixtures/types.js';
import { migrateTo } from '../migrator.js';

/**
 * FROZEN: a home and database as Tessera 1.1.0 left them. Adds to 1.0 the store domains (PRIMARY and
 * each secondary store), system flags on the admins and the admin role, and the renamed config keys.
 * Passwords are still salted SHA-256.
 */
export const release110: ReleaseFixture = {
  release: '1.1.0',
  population: { seed: 0x0001_0100, createdFrom: Date.UTC(2023, 8, 1) },

  renderConfig(databaseUrl) {
    return `# Tessera 1.1 configuration (written by tessera fixture).
format = "1.1"

[server]
port = 9763
hostname = "localhost"

[database]
# sqlite:PATH (relative to the home), postgres://user@host:port/db or mysql://user@host:port/db
url = ${tomlString(databaseUrl)}

[user_store]
password_hash = "SHA-256"

[logging]
level = "info"
`;
  },

  async populate(target: FixtureTarget) {
    const { population, password } = target;
    await migrateTo(target.main, '1.1.0', { now: target.migrationClock });
    await target.load(
      'main',
      'tenants',
      ['id', 'domain', 'admin_username', 'active', 'created_at'],
      mapRows(population.tenants(), (t) => [t.id, t.domain, ADMIN_USERNAME, t.active ? 1 : 0, t.createdAt]),
    );
    await target.load(
      'main',
      'store_domains',
      ['id', 'tenant_id', 'name'],
      mapRows(population.storeDomains(), (d) => [d.id, d.tenantId, d.name]),
    );
    await target.load(
      'main',
      'roles',
      ['id', 'tenant_id', 'name', 'is_system', 'created_at'],
      mapRows(population.roles(), (r) => [r.id, r.tenantId, r.name, r.system ? 1 : 0, r.createdAt]),
    );
    await target.load(
      'main',
      'users',
      ['id', 'tenant_id', 'username', 'password_hash', 'password_salt', 'is_system', 'created_at'],
      mapRows(population.accounts(), (a) => [
        a.id,
        a.tenantId,
        a.username,
        legacySha256(password, a.salt),
        a.salt,
        a.system ? 1 : 0,
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
    for (const table of ['users', 'roles', 'store_domains']) {
      await target.main.dialect.syncIdentity(target.main.db, table, 'id');
    }
    await populatePartnerStores(target, (a) => [legacySha256(password, a.salt), a.salt, 'sha256']);
  },
};
