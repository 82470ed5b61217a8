import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../../src/db/connection.js';
import { SUPER_TENANT_ID } from '../../../src/home/layout.js';
import { bootstrapDatabase } from '../../../src/server/bootstrap.js';
import { AppVersionStore, CHUNK_BYTES, sha256Hex } from '../../../src/webapps/versions/version-store.js';
import { DATABASE_KINDS, scratchDatabase } from '../../helpers/databases.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

async function freshDatabase(kind: (typeof DATABASE_KINDS)[number]): Promise<Database> {
  const scratch = await scratchDatabase(kind, 'versions');
  cleanups.push(() => scratch.drop());
  const database = await openDatabase(scratch.url, scratch.home);
  cleanups.push(() => database.close());
  await bootstrapDatabase(database, 'versions-test-admin-pw');
  return database;
}

const T = SUPER_TENANT_ID;
const by = { origin: 'upload' as const, deployedBy: 'admin@carbon.super' };

describe.each(DATABASE_KINDS)('AppVersionStore on %s', (kind) => {
  it('numbers versions, keeps a zip of several chunks byte for byte, and reuses the current version for the same bytes', async () => {
    const database = await freshDatabase(kind);
    const store = new AppVersionStore(database.db, 5);
    // Two and a half chunks: the last one short, as a real zip's would be.
    const big = randomBytes(CHUNK_BYTES * 2 + CHUNK_BYTES / 2);
    const first = await store.record(T, 'shop', big, by);
    expect(first).toEqual({ version: 1, checksum: sha256Hex(big), created: true });
    expect(await store.record(T, 'shop', big, by)).toEqual({ ...first, created: false });
    const chunks = await database.db
      .selectFrom('webapp_version_chunks')
      .select('seq')
      .where('name', '=', 'shop')
      .execute();
    expect(chunks.map((c) => Number(c.seq)).sort()).toEqual([0, 1, 2]);
    expect((await store.read(T, 'shop', 1)).equals(big)).toBe(true);

    const small = Buffer.from('second');
    expect(
      await store.record(T, 'shop', small, { origin: 'zip', deployedBy: 'webapps/ of n1' }),
    ).toMatchObject({
      version: 2,
      created: true,
    });
    expect(await store.currentOf(T, 'shop')).toEqual({
      name: 'shop',
      version: 2,
      checksum: sha256Hex(small),
    });
    // Going back to the first bytes by a deploy (not a rollback) is a new version: numbers only go up.
    expect(await store.record(T, 'shop', big, by)).toMatchObject({ version: 3, created: true });
    expect(await store.versionWithChecksum(T, 'shop', sha256Hex(big))).toBe(3);
    expect(await store.versionWithChecksum(T, 'shop', sha256Hex(Buffer.from('never')))).toBeUndefined();
    const listed = await store.versions(T, 'shop');
    expect(listed.map((v) => [v.version, v.origin, v.deployedBy, v.sizeBytes])).toEqual([
      [3, 'upload', 'admin@carbon.super', big.length],
      [2, 'zip', 'webapps/ of n1', small.length],
      [1, 'upload', 'admin@carbon.super', big.length],
    ]);
  });

  it('refuses to hand out bytes that no longer match the recorded checksum', async () => {
    const database = await freshDatabase(kind);
    const store = new AppVersionStore(database.db, 5);
    await store.record(T, 'shop', Buffer.from('the real zip'), by);
    await database.db
      .updateTable('webapp_version_chunks')
      .set({ bytes: Buffer.from('the fake zip') })
      .where('name', '=', 'shop')
      .execute();
    await expect(store.read(T, 'shop', 1)).rejects.toThrow(/does not match its checksum/);
  });

  it('keeps the bytes of the newest versions only, never pruning the current one, and refuses a pruned rollback', async () => {
    const database = await freshDatabase(kind);
    const store = new AppVersionStore(database.db, 2);
    for (let i = 1; i <= 3; i++) await store.record(T, 'shop', Buffer.from(`v${i}`), by);
    // Version 1 lost its bytes but not its row: its checksum still tells an old zip from a new one.
    const listed = await store.versions(T, 'shop');
    expect(listed.map((v) => [v.version, v.prunedAt !== undefined])).toEqual([
      [3, false],
      [2, false],
      [1, true],
    ]);
    expect(await store.versionWithChecksum(T, 'shop', sha256Hex(Buffer.from('v1')))).toBe(1);
    await expect(store.setCurrent(T, 'shop', 1, 'admin')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.read(T, 'shop', 1)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.setCurrent(T, 'shop', 9, 'admin')).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Rolled back to 2, two newer deploys would push 2 out of the newest two: it is current, so it stays.
    await store.setCurrent(T, 'shop', 2, 'admin');
    expect((await store.currentOf(T, 'shop'))?.version).toBe(2);
    await store.prune(T, 'shop');
    expect((await store.read(T, 'shop', 2)).toString()).toBe('v2');
    await store.record(T, 'shop', Buffer.from('v4'), by);
    await store.record(T, 'shop', Buffer.from('v5'), by);
    const after = await store.versions(T, 'shop');
    expect(after.filter((v) => v.prunedAt === undefined).map((v) => v.version)).toEqual([5, 4]);
  });

  it('undeploys only the version it was told of, keeps the rows but not the zips, and numbers on after a new deploy', async () => {
    const database = await freshDatabase(kind);
    const store = new AppVersionStore(database.db, 5);
    await store.record(T, 'shop', Buffer.from('v1'), by);
    await store.record(T, 'shop', Buffer.from('v2'), by);
    // An upload still being started: recorded, not current yet.
    await store.record(T, 'shop', Buffer.from('v3'), { ...by, makeCurrent: false });
    // A node letting go of version 1 must not undeploy version 2, which another node deployed since.
    expect(await store.remove(T, 'shop', 1)).toBe(false);
    expect((await store.current(T)).map((c) => c.version)).toEqual([2]);
    expect((await store.versions(T, 'shop')).map((v) => [v.version, v.prunedAt === undefined])).toEqual([
      [3, true],
      [2, true],
      [1, true],
    ]);
    expect(await store.remove(T, 'shop', 2)).toBe(true);
    expect(await store.current(T)).toEqual([]);
    // Versions 1 and 2 lose their zips; the upload newer than what was undeployed keeps its own.
    expect((await store.versions(T, 'shop')).map((v) => [v.version, v.prunedAt === undefined])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
    const chunks = await database.db
      .selectFrom('webapp_version_chunks')
      .select('version')
      .where('name', '=', 'shop')
      .execute();
    expect(chunks.map((c) => Number(c.version))).toEqual([3]);
    expect(await store.record(T, 'shop', Buffer.from('v1'), by)).toMatchObject({ version: 4, created: true });
    // Without a version: undeployed at whatever is current (4), which prunes 3 too.
    expect(await store.remove(T, 'shop')).toBe(true);
    expect((await store.versions(T, 'shop')).filter((v) => v.prunedAt === undefined)).toEqual([]);
    expect(await store.remove(T, 'shop')).toBe(false);
  });

  it('gives two nodes recording at once two distinct versions, one of them current', async () => {
    const database = await freshDatabase(kind);
    const store = new AppVersionStore(database.db, 5);
    const other = new AppVersionStore(database.db, 5);
    const [a, b] = await Promise.all([
      store.record(T, 'race', Buffer.from('from node a'), by),
      other.record(T, 'race', Buffer.from('from node b'), by),
    ]);
    expect(new Set([a.version, b.version])).toEqual(new Set([1, 2]));
    expect((await store.currentOf(T, 'race'))?.version).toBe(2);
  });
});
