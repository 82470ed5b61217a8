import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { folderBytes } from '../../src/webapps/quotas.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { buildZip } from '../webapps/helpers.js';
import { lyingZipBomb, zipBomb } from '../webapps/zip-bombs.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const KB = 1024;
const MB = 1024 * KB;

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

/** A server whose `[deployment]` quotas are `quotas` (key = value lines), with tenants acme.com and globex.com. */
async function serverWith(
  quotas: Record<string, number | boolean>,
  prepareHome: (home: string) => void = () => {},
): Promise<TestServer> {
  const lines = Object.entries(quotas).map(([key, value]) => `${key} = ${value}`);
  const server = await startTestServer('sqlite', (text, home) => {
    prepareHome(home);
    let out = text;
    for (const [key, value] of Object.entries(quotas))
      out = out.replace(new RegExp(`^${key} = .*$`, 'm'), `${key} = ${value}`);
    for (const line of lines) expect(out).toContain(`\n${line}\n`);
    return out;
  });
  for (const domain of ['acme.com', 'globex.com']) {
    const created = await server.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain, adminPassword: 'tenant-admin-pw' },
    });
    expect(created.status).toBe(201);
  }
  return server;
}

async function upload(server: TestServer, tenant: string, name: string, zip: Buffer) {
  const response = await fetch(`${server.server.url}/api/v1/tenants/${tenant}/webapps?name=${name}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(SUPER.join(':')).toString('base64')}`,
      'content-type': 'application/zip',
    },
    body: zip,
  });
  return { status: response.status, body: (await response.json()) as { error?: string; message?: string } };
}

/** A zip whose app expands to about `bytes`. */
const appOf = (bytes: number, marker = 'app') =>
  buildZip({ 'index.html': marker, 'data.bin': Buffer.alloc(bytes) });

async function tenantFolder(server: TestServer, domain: string): Promise<string> {
  const id = (await server.call('GET', `/api/v1/tenants/${domain}`, { as: SUPER })).body.id;
  return path.join(server.home, 'repository', 'tenants', String(id));
}

const page = async (server: TestServer, url: string) => {
  const response = await fetch(`${server.server.url}${url}`);
  return response.status === 200 ? await response.text() : response.status;
};

describe('webapp quotas through the API', () => {
  it('refuses a zip bomb with 413, leaving nothing behind, and the previous version keeps serving', async () => {
    t = await serverWith({ max_app_mb: 1 });
    expect((await upload(t, 'acme.com', 'shop', await buildZip({ 'index.html': 'v1' }))).status).toBe(201);
    const bomb = await zipBomb(100);
    expect(bomb.length).toBeLessThan(150 * KB);
    const refused = await upload(t, 'acme.com', 'shop', bomb);
    expect(refused).toEqual({
      status: 413,
      body: {
        error: 'QUOTA_EXCEEDED',
        message:
          'App "shop" refused: its zip declares 104857600 bytes expanded, and deployment.max_app_mb is 1 MB (1048576 bytes). ' +
          'Make the app smaller, or raise deployment.max_app_mb in tessera.toml.',
      },
    });
    const liar = await upload(t, 'acme.com', 'shop', await lyingZipBomb(100, 1000));
    expect(liar.status).toBe(400);
    expect(liar.body.message).toMatch(
      /inflates to more than the 1000 bytes the archive's directory declares/,
    );

    expect(await page(t, '/t/acme.com/shop/')).toBe('v1');
    const tenant = await tenantFolder(t, 'acme.com');
    expect(readdirSync(path.join(tenant, 'webapps'))).toEqual(['shop.zip']);
    expect(readdirSync(path.join(t.home, 'backups'))).toEqual([]);
    // Nothing of the check's extraction is left (test/webapps/zip-bomb.test.ts counts what is written).
    expect(await folderBytes(path.join(t.home, 'work', 'uploads'))).toBe(0);
  });

  it('refuses an upload larger than max_upload_mb before writing it', async () => {
    t = await serverWith({ max_upload_mb: 2 });
    const big = await buildZip({
      'index.html': 'x',
      'noise.bin': randomBytes(2200 * KB),
    });
    expect(big.length).toBeGreaterThan(2 * MB);
    const refused = await upload(t, 'acme.com', 'big', big);
    expect(refused.status).toBe(413);
    expect(refused.body).toEqual({
      error: 'QUOTA_EXCEEDED',
      message: `The upload is ${big.length} bytes, and deployment.max_upload_mb is 2 MB (2097152 bytes). Copy the zip into the tenant's webapps/ folder instead, or raise deployment.max_upload_mb in tessera.toml.`,
    });
    // Sent chunked, with no length announced: counted as it arrives.
    const chunked = await fetch(`${t.server.url}/api/v1/tenants/acme.com/webapps?name=big`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(SUPER.join(':')).toString('base64')}`,
        'content-type': 'application/zip',
      },
      body: new ReadableStream({
        start(controller) {
          for (let offset = 0; offset < big.length; offset += 64 * KB)
            controller.enqueue(big.subarray(offset, offset + 64 * KB));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { message: string }).message).toMatch(
      /^The upload is more than 2097152 bytes, and deployment.max_upload_mb is 2 MB/,
    );
    expect(readdirSync(path.join(await tenantFolder(t, 'acme.com'), 'webapps'))).toEqual([]);
    // Under the limit goes through, also past Fastify's own 1 MiB default body limit.
    const under = await buildZip({ 'index.html': 'x', 'noise.bin': randomBytes(1200 * KB) });
    expect(under.length).toBeGreaterThan(MB);
    expect((await upload(t, 'acme.com', 'small', under)).status).toBe(201);
  });

  it('refuses the N+1th app of a tenant, and leaves other tenants and the super tenant alone', async () => {
    t = await serverWith({ max_apps_per_tenant: 2 });
    expect((await upload(t, 'acme.com', 'a', await appOf(10))).status).toBe(201);
    expect((await upload(t, 'acme.com', 'b', await appOf(10))).status).toBe(201);
    const third = await upload(t, 'acme.com', 'c', await appOf(10));
    expect(third).toEqual({
      status: 413,
      body: {
        error: 'QUOTA_EXCEEDED',
        message:
          'App "c" refused: deployment.max_apps_per_tenant is 2 and acme.com already has 2 apps. ' +
          'Undeploy an app first, or raise deployment.max_apps_per_tenant in tessera.toml.',
      },
    });
    expect(readdirSync(path.join(await tenantFolder(t, 'acme.com'), 'webapps')).sort()).toEqual([
      'a.zip',
      'b.zip',
    ]);
    // Replacing an app is no new app.
    expect((await upload(t, 'acme.com', 'b', await appOf(10, 'b2'))).status).toBe(201);
    expect(await page(t, '/t/acme.com/b/')).toBe('b2');

    for (const tenant of ['globex.com', 'carbon.super'])
      for (const name of ['a', 'b'])
        expect((await upload(t, tenant, name, await appOf(10))).status).toBe(201);
    expect(await page(t, '/a/')).toBe('app');
  });

  it('refuses an upload the deployer finds over quota (an app dropped meanwhile) and keeps nothing', async () => {
    // Without hot deploy the folder dropped below is seen only at the upload's own rescan, after the
    // upload's quota check passed: the deployer's own check is what refuses.
    t = await serverWith({ max_apps_per_tenant: 1, hot_deploy: false });
    const webapps = path.join(await tenantFolder(t, 'acme.com'), 'webapps');
    mkdirSync(path.join(webapps, 'a'));
    writeFileSync(path.join(webapps, 'a', 'index.html'), 'a');
    const refused = await upload(t, 'acme.com', 'b', await appOf(10));
    expect(refused.status).toBe(413);
    expect(refused.body.error).toBe('QUOTA_EXCEEDED');
    expect(refused.body.message).toMatch(
      /max_apps_per_tenant is 1 and acme.com already has 1 apps\. Undeploy an app first, .* Nothing was kept\.$/,
    );
    expect(readdirSync(webapps)).toEqual(['a']);
    expect(await page(t, '/t/acme.com/a/')).toBe('a');
  });

  it("counts all of a tenant's apps, hand-dropped ones included, against max_tenant_mb", async () => {
    t = await serverWith({ max_tenant_mb: 2, max_app_mb: 1 });
    expect((await upload(t, 'acme.com', 'a', await appOf(900 * KB))).status).toBe(201);
    expect((await upload(t, 'acme.com', 'b', await appOf(900 * KB))).status).toBe(201);
    const third = await upload(t, 'acme.com', 'c', await appOf(400 * KB));
    expect(third.status).toBe(413);
    expect(third.body.error).toBe('QUOTA_EXCEEDED');
    expect(third.body.message).toMatch(
      /^App "c" refused: its zip declares \d+ bytes expanded, and deployment.max_tenant_mb is 2 MB \(2097152 bytes\) of which acme.com's other apps use 18432\d\d bytes\. Undeploy an app or make this one smaller, or raise deployment.max_tenant_mb in tessera.toml\.$/,
    );
    // The same app fits in another tenant.
    expect((await upload(t, 'globex.com', 'c', await appOf(400 * KB))).status).toBe(201);

    // Dropped into webapps/ by hand past the quota: refused, listed with the reason, and logged.
    const webapps = path.join(await tenantFolder(t, 'acme.com'), 'webapps');
    const aside = path.join(t.home, 'dropped.zip');
    writeFileSync(aside, await appOf(400 * KB, 'dropped'));
    renameSync(aside, path.join(webapps, 'dropped.zip'));
    await t.server.context.deployer.rescan();
    const listed = await t.call('GET', '/api/v1/tenants/acme.com/webapps', { as: SUPER });
    expect(listed.body.webapps.map((app: { name: string }) => app.name)).toEqual(['a', 'b']);
    expect(listed.body.refused).toEqual([
      {
        name: 'dropped',
        entry: 'dropped.zip',
        source: 'zip',
        error: 'QUOTA_EXCEEDED',
        message: expect.stringMatching(
          /deployment.max_tenant_mb is 2 MB .* of which acme.com's other apps use/,
        ),
      },
    ]);
    expect(await page(t, '/t/acme.com/dropped/')).toBe(404);
    expect(
      existsSync(
        path.join(t.home, 'work', 'webapps', String(path.basename(path.dirname(webapps))), 'dropped'),
      ),
    ).toBe(false);
    const logged = readFileSync(path.join(t.home, 'logs', 'tessera.log'), 'utf8');
    expect(logged).toMatch(/"quota":"deployment.max_tenant_mb".*webapp \\"dropped\\" refused/);

    // Undeploying one makes room for it.
    expect((await t.call('DELETE', '/api/v1/tenants/acme.com/webapps/b', { as: SUPER })).status).toBe(204);
    await t.server.context.deployer.rescan();
    expect(await page(t, '/t/acme.com/dropped/')).toBe('dropped');
  });

  it('keeps only the retained archives in backups/ after repeated replacements and undeploys', async () => {
    t = await serverWith({ backup_retention_count: 2 });
    const archives = (app: string) =>
      readdirSync(path.join(t?.home ?? '', 'backups')).filter((name) => name.endsWith(`-${app}.zip`));
    for (let version = 1; version <= 5; version++) {
      expect((await upload(t, 'acme.com', 'shop', await appOf(10, `v${version}`))).status).toBe(201);
      expect((await upload(t, 'carbon.super', 'shop', await appOf(10, `v${version}`))).status).toBe(201);
    }
    expect(await page(t, '/t/acme.com/shop/')).toBe('v5');
    const acmeId = path.basename(await tenantFolder(t, 'acme.com'));
    const kept = archives('shop');
    expect(kept.filter((name) => name.startsWith(`replaced-${acmeId}-`))).toHaveLength(2);
    expect(kept.filter((name) => name.startsWith('replaced--1234-'))).toHaveLength(2);
    expect(kept).toHaveLength(4);

    for (let round = 1; round <= 3; round++) {
      expect((await t.call('DELETE', '/api/v1/tenants/acme.com/webapps/shop', { as: SUPER })).status).toBe(
        204,
      );
      expect((await upload(t, 'acme.com', 'shop', await appOf(10, `again${round}`))).status).toBe(201);
    }
    const after = archives('shop');
    const acme = after.filter((name) => name.includes(`-${acmeId}-`));
    expect(acme).toHaveLength(2);
    // The newest two: the last undeploy's zip, and the one before it.
    expect(acme.some((name) => name.startsWith(`undeployed-${acmeId}-`))).toBe(true);
    expect(after.filter((name) => name.includes('--1234-'))).toHaveLength(2);
  });

  it('applies the retention at start to what earlier runs left in backups/', async () => {
    const now = Date.now();
    const day = 24 * 60 * 60 * 1000;
    const left = [
      `replaced-7-${now - 40 * day}-old.zip`,
      ...[1, 2, 3, 4].map((i) => `replaced-7-${now - i * 1000}-shop.zip`),
      `undeployed--1234-${now - day}-docs.zip`,
      'deleted-tenant-9-1700000000000',
    ];
    t = await serverWith({ backup_retention_count: 2, backup_retention_days: 30 }, (home) => {
      mkdirSync(path.join(home, 'backups'), { recursive: true });
      for (const name of left) writeFileSync(path.join(home, 'backups', name), name);
    });
    expect(readdirSync(path.join(t.home, 'backups')).sort()).toEqual(
      [
        `replaced-7-${now - 1000}-shop.zip`,
        `replaced-7-${now - 2000}-shop.zip`,
        `undeployed--1234-${now - day}-docs.zip`,
        'deleted-tenant-9-1700000000000',
      ].sort(),
    );
  });
});
