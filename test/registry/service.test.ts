import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { SUPER_TENANT_ID } from '../../src/home/layout.js';
import { Registry } from '../../src/registry/registry.js';
import { bootstrapDatabase } from '../../src/server/bootstrap.js';
import { TenantService } from '../../src/tenants/service.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';

const SUPER = SUPER_TENANT_ID;

describe.each(DATABASE_KINDS)('registry service on %s', (kind) => {
  let scratch: ScratchDatabase;
  let database: Database;
  let registry: Registry;
  let acme: number;

  beforeAll(async () => {
    scratch = await scratchDatabase(kind, 'registry');
    database = await openDatabase(scratch.url, scratch.home);
    await bootstrapDatabase(database, 'super-admin-pw');
    const tenants = new TenantService(database.db, { created: async () => {}, deleted: async () => {} });
    acme = (await tenants.create({ domain: 'acme.com', adminPassword: 'acme-admin-pw' })).id;
    registry = await Registry.open({ database, home: scratch.home });
  });

  afterAll(async () => {
    await registry?.close();
    await database?.close();
    await scratch?.drop();
  });

  it('versions every write, with its own properties, and reads any version back', async () => {
    const first = await registry.put(acme, '/config/app.json', {
      content: Buffer.from('{"a":1}'),
      mediaType: 'application/json',
      properties: { owner: 'ops', stage: 'dev' },
      actor: 'admin@acme.com',
    });
    expect(first).toMatchObject({
      path: '/config/app.json',
      version: 1,
      properties: { owner: 'ops', stage: 'dev' },
    });
    const second = await registry.put(acme, '/config//app.json/'.replace('//', '/'), {
      content: Buffer.from('{"a":2}'),
      mediaType: 'application/json',
      properties: { owner: 'dev' },
      actor: 'bob@acme.com',
    });
    expect(second.version).toBe(2);
    const latest = await registry.get(acme, '/config/app.json');
    expect(latest?.content.toString()).toBe('{"a":2}');
    expect(latest?.properties).toEqual({ owner: 'dev' });
    expect(latest?.createdBy).toBe('bob@acme.com');
    const old = await registry.get(acme, '/config/app.json', 1);
    expect(old?.content.toString()).toBe('{"a":1}');
    expect(old?.properties).toEqual({ owner: 'ops', stage: 'dev' });
    expect(await registry.get(acme, '/config/app.json', 9)).toBeUndefined();
    const versions = await registry.versions(acme, '/config/app.json');
    expect(versions.map((v) => [v.version, v.size, v.createdBy])).toEqual([
      [1, 7, 'admin@acme.com'],
      [2, 7, 'bob@acme.com'],
    ]);
  });

  it('restores an old version as a new one, and deletes every version', async () => {
    const restored = await registry.restore(acme, '/config/app.json', 1, 'admin@acme.com');
    expect(restored.version).toBe(3);
    expect(restored.content.toString()).toBe('{"a":1}');
    expect(restored.properties).toEqual({ owner: 'ops', stage: 'dev' });
    await expect(registry.restore(acme, '/config/app.json', 42, 'x')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await registry.put(acme, '/gone/x', { content: Buffer.from('x'), mediaType: 'text/plain', actor: 'a' });
    await registry.put(acme, '/gone/x', { content: Buffer.from('y'), mediaType: 'text/plain', actor: 'a' });
    expect(await registry.delete(acme, '/gone/x')).toBe(true);
    expect(await registry.get(acme, '/gone/x')).toBeUndefined();
    expect(await registry.versions(acme, '/gone/x')).toEqual([]);
    expect(await registry.delete(acme, '/gone/x')).toBe(false);
    const orphans = await database.db.selectFrom('registry_properties').select('resource_id').execute();
    const ids = (await database.db.selectFrom('registry_resources').select('id').execute()).map((r) => r.id);
    expect(orphans.every((o) => ids.includes(o.resource_id))).toBe(true);
  });

  it('round-trips binary content byte for byte', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));
    await registry.put(acme, '/bin/blob.dat', {
      content: bytes,
      mediaType: 'application/octet-stream',
      actor: 'a',
    });
    const back = await registry.get(acme, '/bin/blob.dat');
    expect(Buffer.isBuffer(back?.content)).toBe(true);
    expect(back?.content.equals(bytes)).toBe(true);
    expect((await registry.versions(acme, '/bin/blob.dat'))[0]?.size).toBe(70_000);
  });

  it('keeps tenants apart', async () => {
    await registry.put(SUPER, '/config/app.json', {
      content: Buffer.from('super'),
      mediaType: 'text/plain',
      actor: 'admin',
    });
    expect((await registry.get(SUPER, '/config/app.json'))?.version).toBe(1);
    expect((await registry.get(acme, '/config/app.json'))?.version).toBe(3);
    expect(await registry.get(SUPER, '/bin/blob.dat')).toBeUndefined();
    expect(await registry.delete(SUPER, '/bin/blob.dat')).toBe(false);
    expect(await registry.list(SUPER, '/')).toEqual(['/config']);
    expect(await registry.list(acme, '/')).toEqual(['/bin', '/config']);
  });

  it('lists the paths directly below a folder', async () => {
    for (const p of ['/docs/a.txt', '/docs/b/c.txt', '/docs/b/d/e.txt', '/docs_x/f', '/docs%/g'])
      await registry.put(acme, p, { content: Buffer.from(p), mediaType: 'text/plain', actor: 'a' });
    expect(await registry.list(acme, '/docs')).toEqual(['/docs/a.txt', '/docs/b']);
    expect(await registry.list(acme, '/docs/b/')).toEqual(['/docs/b/c.txt', '/docs/b/d']);
    expect(await registry.list(acme, '/nothing')).toEqual([]);
  });

  it('refuses bad paths', async () => {
    const put = (p: string) =>
      registry.put(acme, p, { content: Buffer.from('x'), mediaType: 'text/plain', actor: 'a' });
    for (const bad of ['relative/x', '/a//b', '/a/../b', '/a/./b', '/', `/${'x'.repeat(600)}`, '/a\u0000b'])
      await expect(put(bad), bad).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(registry.get(acme, '../etc')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(registry.list(acme, '/a//')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
