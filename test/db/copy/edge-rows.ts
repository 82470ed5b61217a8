import { sql } from 'kysely';
import type { Database } from '../../../src/db/connection.js';
import { compareVersions } from '../../../src/releases/semver.js';

export const LARGEST_ID = 2_147_483_647;
export const SMALLEST_ID = -2_147_483_648;
const SUPER_TENANT = -1234;
/** Over 1 MB of mixed-width UTF-8, with a NUL-free mix of every escape a COPY or JSON writer handles. */
export const LARGE_TEXT = 'Grüße 👋 «tab\there» \\ "quoted" \'single\' line\nbreak\r\n'.repeat(20_000);
/** Every byte value, so no encoding can mistake the BLOB for text. */
export const ALL_BYTES = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));

/**
 * Rows a fixture never makes but production may hold: the smallest and largest 32-bit ids, non-ASCII and
 * empty strings, NULL beside '', text with escapes, a 1 MB value and BLOBs (at the releases whose schema
 * allows them). Leaves `cluster_nodes` empty, so a table without rows is covered too.
 */
export async function addEdgeRows(
  database: Database<unknown>,
  release: string,
  /** The large user id (default the largest 32-bit one, after which no user can be created). */
  largestId = LARGEST_ID,
): Promise<void> {
  const db = database.db;
  const from11 = compareVersions(release, '1.1.0') >= 0;
  const from20 = compareVersions(release, '2.0.0') >= 0;
  const users: [number, string][] = [
    [largestId, 'zoë-名前-👩‍💻'],
    [SMALLEST_ID, ''],
  ];
  for (const [id, username] of users) {
    const extra = from20
      ? sql`, is_system, password_algorithm) values (${id}, ${SUPER_TENANT}, ${username}, 'h', '', 1000, 0, 'argon2id')`
      : from11
        ? sql`, is_system) values (${id}, ${SUPER_TENANT}, ${username}, 'h', '', 1000, 0)`
        : sql`) values (${id}, ${SUPER_TENANT}, ${username}, 'h', '', 1000)`;
    await sql`insert into users (id, tenant_id, username, password_hash, password_salt, created_at${extra}`.execute(
      db,
    );
  }
  const attributes: [number, string, string][] = [
    [largestId, 'empty', ''],
    [largestId, 'escapes', 'tab\tnewline\nbackslash\\N quote" nul-free ünïcödé'],
    [SMALLEST_ID, 'ÄÖÜ-key', '日本語のテキスト'],
  ];
  if (from11) attributes.push([largestId, 'large', LARGE_TEXT]);
  for (const [userId, name, value] of attributes) {
    await sql`insert into user_attributes (user_id, name, value) values (${userId}, ${name}, ${value})`.execute(
      db,
    );
  }
  if (!from20) return;
  await sql`insert into audit_log (id, tenant_id, actor, action, target, detail, created_at)
            values (${largestId}, ${SUPER_TENANT}, 'admin', 'user.create', 'zoë', ${null}, 1),
                   (1, ${SUPER_TENANT}, 'admin', 'user.delete', 'x', '', 2)`.execute(db);
  await sql`insert into registry_resources (id, tenant_id, path, version, media_type, content, created_by, created_at)
            values (1, ${SUPER_TENANT}, '/_system/config', 1, 'application/octet-stream', ${ALL_BYTES}, 'admin', 1),
                   (2, ${SUPER_TENANT}, '/_system/empty', 1, 'text/plain', ${Buffer.alloc(0)}, 'admin', 2)`.execute(
    db,
  );
  await sql`insert into registry_properties (resource_id, name, value)
            values (1, 'owner', 'zoë'), (1, 'note', ''), (2, 'size', '0')`.execute(db);
}
