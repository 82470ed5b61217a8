import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../../src/db/connection.js';
import type { Schema } from '../../../src/db/schema.js';
import { PayloadAdapter, pruneExpired } from '../../../src/identity/oidc/adapter.js';
import { OidcKeys } from '../../../src/identity/oidc/keys.js';
import { SecretBox } from '../../../src/identity/totp/secret-box.js';
import { CURRENT_RELEASE } from '../../../src/releases/matrix.js';
import { migrateTo } from '../../../src/releases/migrator.js';
import { type ScratchDatabase, scratchDatabase } from '../../helpers/databases.js';

const TENANT = 7;
const OTHER = 8;

/** oidc-provider's storage and the keys, on the engines' real databases. */
describe.each(['sqlite', 'postgres'] as const)('OpenID Connect storage on %s', (kind) => {
  let scratch: ScratchDatabase;
  let database: Database<Schema>;
  const noClients = async () => undefined;

  beforeAll(async () => {
    scratch = await scratchDatabase(kind, 'oidc');
    database = await openDatabase<Schema>(scratch.url, scratch.home);
    await migrateTo(database, CURRENT_RELEASE);
    for (const id of [TENANT, OTHER])
      await database.db
        .insertInto('tenants')
        .values({ id, domain: `t${id}.example`, admin_username: 'admin', active: 1, created_at: 0 })
        .execute();
  });

  afterAll(async () => {
    await database?.close();
    await scratch?.drop();
  });

  it('finds what it stored by id, uid and grant, per tenant and model, and never what expired', async () => {
    const codes = new PayloadAdapter(database.db, TENANT, 'AuthorizationCode', noClients);
    const sessions = new PayloadAdapter(database.db, TENANT, 'Session', noClients);
    const otherTenant = new PayloadAdapter(database.db, OTHER, 'AuthorizationCode', noClients);
    await codes.upsert('code-1', { grantId: 'g1', accountId: 'alice' }, 60);
    await codes.upsert('code-1', { grantId: 'g1', accountId: 'alice', again: true }, 60);
    await codes.upsert('code-2', { grantId: 'g2' }, 60);
    await sessions.upsert('s1', { uid: 'uid-1', accountId: 'alice' }, 60);
    expect(await codes.find('code-1')).toEqual({ grantId: 'g1', accountId: 'alice', again: true });
    expect(await otherTenant.find('code-1')).toBeUndefined();
    expect(await sessions.findByUid('uid-1')).toMatchObject({ accountId: 'alice' });
    expect(await codes.findByUid('uid-1')).toBeUndefined();

    await codes.consume('code-1');
    expect((await codes.find('code-1'))?.consumed).toBeGreaterThan(0);

    await codes.revokeByGrantId('g1');
    expect(await codes.find('code-1')).toBeUndefined();
    expect(await codes.find('code-2')).toEqual({ grantId: 'g2' });
    await codes.destroy('code-2');
    expect(await codes.find('code-2')).toBeUndefined();

    await codes.upsert('stale', {}, 60);
    await database.db
      .updateTable('oidc_payloads')
      .set({ expires_at: Date.now() - 1 })
      .where('id', '=', 'stale')
      .execute();
    expect(await codes.find('stale')).toBeUndefined();
    expect(await pruneExpired(database.db)).toBe(1);
    const left = await database.db.selectFrom('oidc_payloads').select('id').orderBy('id').execute();
    expect(left.map((row) => row.id)).toEqual(['s1']);
  });

  it('rotates keys: the new one signs, the old one is published until it retires, then pruned', async () => {
    const box = new SecretBox(randomBytes(32));
    const keys = new OidcKeys(database.db, 60_000, box);
    const first = await keys.forTenant(TENANT, 1_000);
    expect(first.signing).toHaveLength(1);
    expect(first.cookieSecrets).toHaveLength(1);
    // The private parts are sealed in the database: no RSA private exponent nor cookie secret in the rows, and
    // a node with another secrets key cannot use them.
    const rows = await database.db.selectFrom('oidc_keys').select('private_material').execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.private_material).toMatch(/^v1\./);
      expect(row.private_material).not.toContain(first.signing[0]?.d ?? 'no private exponent');
      expect(row.private_material).not.toContain(first.cookieSecrets[0] ?? 'no cookie secret');
    }
    await expect(
      new OidcKeys(database.db, 60_000, new SecretBox(randomBytes(32))).forTenant(TENANT, 1_000),
    ).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('conf/secrets.key'),
    });
    expect(await keys.forTenant(TENANT, 1_000)).toEqual(first);
    const oldKid = first.signing[0]?.kid;

    const rotated = await keys.rotate(TENANT, 2_000);
    expect(rotated.retiring).toEqual([oldKid]);
    const after = await keys.forTenant(TENANT, 3_000);
    expect(after.signing.map((key) => key.kid)).toEqual([rotated.kid, oldKid]);
    expect(after.version).not.toBe(first.version);
    expect((await keys.list(TENANT, 3_000)).map((key) => [key.kid, key.status])).toEqual([
      [rotated.kid, 'signing'],
      [oldKid, 'retiring'],
    ]);
    for (const key of await keys.list(TENANT, 3_000)) expect(key.publicJwk.d).toBeUndefined();

    // Past its retirement the old key is neither published nor kept.
    expect((await keys.forTenant(TENANT, 62_001)).signing.map((key) => key.kid)).toEqual([rotated.kid]);
    expect(await keys.pruneRetired(62_001)).toBe(1);
    expect((await keys.forTenant(OTHER, 3_000)).signing[0]?.kid).not.toBe(rotated.kid);
  });
});
