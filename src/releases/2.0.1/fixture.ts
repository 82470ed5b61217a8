import { sql } from 'kysely';
import { release200 } from '../2.0.0/fixture.js';
import { SUPER_TENANT } from '../fixtures/population.js';
import { tomlString } from '../fixtures/toml.js';
import type { FixtureTarget, ReleaseFixture } from '../fixtures/types.js';

/**
 * FROZEN copies of what a 2.0.1 server writes when it creates a tenant: the high-water mark of tenant ids,
 * one registry row of the super tenant whose `version` is the highest id issued (src/tenants/id-mark.ts at
 * 2.0.1). Copied, not imported, so that a later change to the server's mark cannot change this fixture.
 */
const TENANT_ID_MARK = {
  path: 'tessera:tenant-ids',
  mediaType: 'text/plain',
  writer: 'tessera:tenants',
  content: "The highest tenant id ever issued is this resource's version.\n",
} as const;

/**
 * FROZEN: a home and database as Tessera 2.0.1 left them. 2.0.1 changed code only, so its database is at
 * schema level 2.0.0 and its config in the 2.0 format: the rows are those 2.0.0's frozen generator writes
 * (argon2id passwords, store domains and system flags), from a population of 2.0.1's own seed and clock.
 * Beside them is what 2.0.1 itself added: the tenant id mark its servers keep once they created a tenant,
 * and the config file its first start wrote, every 2.0 key with its default.
 */
export const release201: ReleaseFixture = {
  release: '2.0.1',
  population: { seed: 0x0002_0001, createdFrom: Date.UTC(2026, 11, 6) },

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

[cache]
# redis = "redis://127.0.0.1:6379"

[deployment]
hot_deploy = true
# Per tenant (the super tenant too): apps, their expanded size (MB) all together and each, one upload.
max_apps_per_tenant = 100
max_tenant_mb = 2048
max_app_mb = 512
max_upload_mb = 64
# Replaced and undeployed archives in backups/: the newest N per app, none older than N days (0: any age).
backup_retention_count = 5
backup_retention_days = 30

# Registry subtrees kept in another database; one [[registry.mounts]] table per mount:
# [[registry.mounts]]
# path = "/mounted/docs"
# url = "mysql://root@127.0.0.1:3306/regdb"
`;
  },

  async populate(target: FixtureTarget) {
    // The 2.0.0 generator's rows: it migrates to 2.0.0, the schema level 2.0.1 runs on.
    await release200.populate(target);
    await writeTenantIdMark(target);
  },
};

/** The mark as the last tenant's creation left it: its id, written when it was created. None without tenants. */
async function writeTenantIdMark(target: FixtureTarget): Promise<void> {
  let newest: { id: number; createdAt: number } | undefined;
  for (const tenant of target.population.tenants())
    if (tenant.id !== SUPER_TENANT.id && (newest === undefined || tenant.id > newest.id)) newest = tenant;
  if (newest === undefined) return;
  // The id column is left to the engine: the first row of a fresh table gets 1 on every engine.
  await sql`insert into registry_resources (tenant_id, path, version, media_type, content, created_by, created_at)
    values (${SUPER_TENANT.id}, ${TENANT_ID_MARK.path}, ${newest.id}, ${TENANT_ID_MARK.mediaType},
      ${Buffer.from(TENANT_ID_MARK.content, 'utf8')}, ${TENANT_ID_MARK.writer}, ${newest.createdAt})`.execute(
    target.main.db,
  );
}
