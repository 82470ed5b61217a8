import { populatePartnerStores } from '../fixtures/partner-stores.js';
import { fixedArgon2id } from '../fixtures/passwords.js';
import { ADMIN_USERNAME } from '../fixtures/population.js';
import { flatMapRows, mapRows } from '../fixtures/rows.js';
import { tomlString } from '../fixtures/toml.js';
import type { FixtureTarget, ReleaseFixture } from '../fixtures/types.js';
import { migrateTo } from '../migrator.js';

/**
 * FROZEN: a home and database as Tessera 2.0.0 left them: every password argon2id (the PHC string carries
 * its salt, so `password_salt` is empty), store domains and system flags as in 1.1, and the 2.0 config.
 * The registry, cluster and audit tables exist but are empty: no server has run on this home yet.
 */
export const release200: ReleaseFixture = {
  release: '2.0.0',
  population: { seed: 0x0002_0000, createdFrom: Date.UTC(2024, 5, 1) },

  renderConfig(databaseUrl) {
    return `# Tessera 2.0 configuration (written by tessera fixture).
format = "2.0"

[server]
# The PORT environment variable overrides this.
port = 9763
host = "0.0.0.0"

[database]
# sqlite:PATH (relative to the home), postgres://user@host:port/db or mysql://user@host:port/db
url = ${tomlString(databaseUrl)}
pool_size = 10

[security]
password_hash = "argon2id"

[logging]
level = "info"

[cluster]
heartbeat_seconds = 10

[deployment]
hot_deploy = true
`;
  },

  async populate(target: FixtureTarget) {
    const { population } = target;
    const passwordHash = await fixedArgon2id(target.password);
    await migrateTo(target.main, '2.0.0', { now: target.migrationClock });
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
      [
        'id',
        'tenant_id',
        'username',
        'password_hash',
        'password_salt',
        'password_algorithm',
        'is_system',
        'created_at',
      ],
      mapRows(population.accounts(), (a) => [
        a.id,
        a.tenantId,
        a.username,
        passwordHash,
        '',
        'argon2id',
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
    await populatePartnerStores(target, () => [passwordHash, '', 'argon2id']);
  },
};
