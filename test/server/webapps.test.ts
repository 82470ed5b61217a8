import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deployer } from '../../src/webapps/deployer.js';
import { ADMIN_PASSWORD, basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { buildZip, rawZip } from '../webapps/helpers.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

let t: TestServer | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.stop();
  t = undefined;
});

async function upload(server: TestServer, tenant: string, name: string, zip: Buffer, as = SUPER) {
  const response = await fetch(
    `${server.server.url}/api/v1/tenants/${tenant}/webapps?name=${encodeURIComponent(name)}`,
    {
      method: 'POST',
      headers: { authorization: basicAuthorization(as), 'content-type': 'application/zip' },
      body: zip,
    },
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function withTenant(): Promise<TestServer> {
  const server = await startTestServer('sqlite');
  const created = await server.call('POST', '/api/v1/tenants', {
    as: SUPER,
    body: { domain: 'acme.com', adminPassword: ACME[1] },
  });
  expect(created.status).toBe(201);
  return server;
}

describe('/api/v1/tenants/{domain}/webapps', () => {
  it('uploads a zip into the tenant, serves it, lists it and undeploys it into backups/', async () => {
    t = await withTenant();
    const zip = await buildZip({ 'index.html': '<h1>Shop</h1>', 'css/site.css': 'h1{}' });
    const uploaded = await upload(t, 'acme.com', 'shop', zip, ACME);
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toMatchObject({
      name: 'shop',
      source: 'zip',
      login: false,
      url: '/t/acme.com/shop/',
    });

    const page = await fetch(`${t.server.url}/t/acme.com/shop/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<h1>Shop</h1>');
    // Served on the console's origin, so sandboxed away from it.
    expect(page.headers.get('content-security-policy')).toMatch(/^sandbox allow-scripts/);

    const listed = await t.call('GET', '/api/v1/tenants/acme.com/webapps', { as: ACME });
    expect(listed.body.webapps.map((app: { name: string }) => app.name)).toEqual(['shop']);
    // What each node serves, from its report (written within a second of a change); no node ids (host names)
    // for a tenant's admin, who sees the one node as an entry without one; the super admin sees its id.
    const nodes = async (as: [string, string]) => {
      const list = await t?.call('GET', '/api/v1/tenants/acme.com/webapps', { as });
      return list?.body.webapps[0].nodes as { node?: string; state: string; version?: string }[];
    };
    const deadline = Date.now() + 5_000;
    while ((await nodes(ACME))[0]?.state !== 'serving' && Date.now() < deadline) await sleep(100);
    expect(await nodes(ACME)).toEqual([{ state: 'serving', version: uploaded.body.version }]);
    expect(await nodes(SUPER)).toEqual([
      { node: expect.any(String), state: 'serving', version: uploaded.body.version },
    ]);
    const tenantId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: SUPER })).body.id;
    const webapps = path.join(t.home, 'repository', 'tenants', String(tenantId), 'webapps');
    // Only the finished zip is left in webapps/: no upload scratch file.
    expect(readdirSync(webapps)).toEqual(['shop.zip']);

    const removed = await t.call('DELETE', '/api/v1/tenants/acme.com/webapps/shop', { as: ACME });
    expect(removed.status).toBe(204);
    expect((await fetch(`${t.server.url}/t/acme.com/shop/`)).status).toBe(404);
    expect(readdirSync(webapps)).toEqual([]);
    expect(readdirSync(path.join(t.home, 'backups')).some((name) => name.endsWith('-shop.zip'))).toBe(true);
    expect((await t.call('DELETE', '/api/v1/tenants/acme.com/webapps/shop', { as: ACME })).status).toBe(404);
  });

  it("stops serving a tenant's apps as soon as it is deactivated, and again once reactivated", async () => {
    t = await withTenant();
    expect((await upload(t, 'acme.com', 'shop', await buildZip({ 'index.html': 'open' }), ACME)).status).toBe(
      201,
    );
    const page = async () => (await fetch(`${t?.server.url}/t/acme.com/shop/`)).status;
    expect(await page()).toBe(200);
    // The app front reuses tenant lookups for a second; a change made here must not wait for that.
    const off = await t.call('PATCH', '/api/v1/tenants/acme.com', { as: SUPER, body: { active: false } });
    expect(off.status).toBe(200);
    expect(await page()).toBe(404);
    await t.call('PATCH', '/api/v1/tenants/acme.com', { as: SUPER, body: { active: true } });
    expect(await page()).toBe(200);
  });

  it('serves a super tenant upload at /{app}/ and replaces an earlier zip of the same name', async () => {
    t = await startTestServer('sqlite');
    expect((await upload(t, 'carbon.super', 'hello', await buildZip({ 'index.html': 'v1' }))).body.url).toBe(
      '/hello/',
    );
    expect((await upload(t, 'carbon.super', 'hello', await buildZip({ 'index.html': 'v2' }))).status).toBe(
      201,
    );
    expect(await (await fetch(`${t.server.url}/hello/`)).text()).toBe('v2');
    // The zip it replaced is kept.
    expect(
      readdirSync(path.join(t.home, 'backups')).filter((name) => name.endsWith('-hello.zip')),
    ).toHaveLength(1);
  });

  it('puts the previous zip back when the new one passes the checks but fails to deploy', async () => {
    t = await withTenant();
    expect((await upload(t, 'acme.com', 'shop', await buildZip({ 'index.html': 'v1' }))).status).toBe(201);
    // A failure past the API's own checks (a full disk, a folder it may not write): the deployer refuses
    // the new version and, mirroring its source, takes the old one down with it.
    const deployZip = vi
      .spyOn(Deployer.prototype as unknown as { deployZip: () => Promise<unknown> }, 'deployZip')
      .mockRejectedValueOnce(new Error('ENOSPC: no space left on device'));
    const failed = await upload(t, 'acme.com', 'shop', await buildZip({ 'index.html': 'v2' }));
    expect(failed.status).toBe(500);
    expect(failed.body.message).toMatch(/previous version was put back/);
    expect(deployZip).toHaveBeenCalledTimes(2);

    const page = await fetch(`${t.server.url}/t/acme.com/shop/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('v1');
    const tenantId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: SUPER })).body.id;
    const webapps = path.join(t.home, 'repository', 'tenants', String(tenantId), 'webapps');
    expect(readdirSync(webapps)).toEqual(['shop.zip']);
  });

  it('refuses zip-slip archives, bad names, reserved names and empty bodies, writing nothing', async () => {
    t = await withTenant();
    const slip = rawZip([{ name: '../escape.txt', content: 'x' }]);
    const refused = await upload(t, 'acme.com', 'evil', slip);
    expect(refused).toMatchObject({ status: 400, body: { error: 'UNSAFE_ARCHIVE' } });
    expect((await upload(t, 'acme.com', 'not a name', await buildZip({ a: 'b' }))).status).toBe(400);
    expect((await upload(t, 'acme.com', 'console', await buildZip({ a: 'b' }))).body.message).toMatch(
      /reserved/,
    );
    expect((await upload(t, 'acme.com', 'junk', Buffer.from('not a zip'))).body.error).toBe('UNSAFE_ARCHIVE');
    expect((await upload(t, 'acme.com', 'empty', Buffer.alloc(0))).status).toBe(400);
    const tenantId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: SUPER })).body.id;
    const webapps = path.join(t.home, 'repository', 'tenants', String(tenantId), 'webapps');
    expect(readdirSync(webapps)).toEqual([]);
    expect(existsSync(path.join(t.home, 'repository', 'tenants', String(tenantId), 'escape.txt'))).toBe(
      false,
    );
  });

  it('keeps a tenant admin to its own tenant and refuses to replace a folder app', async () => {
    t = await withTenant();
    const other = await upload(t, 'carbon.super', 'mine', await buildZip({ 'index.html': 'x' }), ACME);
    expect(other.status).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/carbon.super/webapps', { as: ACME })).status).toBe(404);

    const folder = path.join(t.home, 'repository', 'deployment', 'server', 'webapps', 'docs');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'index.html'), 'docs');
    await t.server.context.deployer.rescan();
    expect((await upload(t, 'carbon.super', 'docs', await buildZip({ 'index.html': 'y' }))).status).toBe(409);
    expect(await (await fetch(`${t.server.url}/docs/`)).text()).toBe('docs');
  });

  it('is described in the OpenAPI document, zip body included', async () => {
    t = await startTestServer('sqlite');
    const paths = (await t.call('GET', '/openapi.json')).body.paths;
    const upload = paths['/api/v1/tenants/{domain}/webapps'].post;
    expect(Object.keys(upload.requestBody.content)).toEqual(['application/zip']);
    expect(upload.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['domain', 'name']);
    expect(Object.keys(paths['/api/v1/tenants/{domain}/webapps/{app}'])).toEqual(['delete']);
    expect(paths['/api/v1/upgrade/report'].get).toBeDefined();
    expect(paths['/api/v1/sessions'].post.security).toEqual([]);
  });
});
