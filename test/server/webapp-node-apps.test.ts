import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { buildZip } from '../webapps/helpers.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const SHOP = {
  'tessera-app.toml': [
    'entry = "server.js"',
    'health = "/healthz"',
    '[env]',
    'SECRET_KEY = "not for the API"',
    '[limits]',
    'memory_mb = 128',
    'max_concurrent = 8',
  ].join('\n'),
  'server.js': 'export default { fetch: () => new Response("code, not a file to serve") }',
};

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function upload(name: string, files: Record<string, string>) {
  if (!t) throw new Error('no server');
  const response = await fetch(`${t.server.url}/api/v1/tenants/acme.com/webapps?name=${name}`, {
    method: 'POST',
    headers: { authorization: basicAuthorization(ACME), 'content-type': 'application/zip' },
    body: await buildZip(files),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const SHOP_LIMITS = {
  memoryMb: 128,
  requestTimeoutS: 30,
  maxConcurrent: 8,
  maxBodyMb: 10,
  startTimeoutS: 60,
};

describe('node apps through /api/v1/tenants/{domain}/webapps', () => {
  it('deploys an upload with its settings and data folder, answers once it runs, lists its status, and never serves its files', async () => {
    t = await startTestServer('sqlite');
    expect(
      (
        await t.call('POST', '/api/v1/tenants', {
          as: SUPER,
          body: { domain: 'acme.com', adminPassword: ACME[1] },
        })
      ).status,
    ).toBe(201);
    const tenantId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: SUPER })).body.id;

    const uploaded = await upload('shop', SHOP);
    expect(uploaded.status).toBe(201);
    // The upload answers once the app's process is up.
    expect(uploaded.body).toEqual({
      name: 'shop',
      source: 'zip',
      runtime: 'node',
      entry: 'server.js',
      login: false,
      health: '/healthz',
      limits: SHOP_LIMITS,
      status: { state: 'running', restarts: 0, since: expect.any(String), version: '1' },
      url: '/t/acme.com/shop/',
      deployedAt: expect.any(String),
      // The cluster numbers each app's versions: the first deploy is version 1.
      version: '1',
    });
    expect(await upload('docs', { 'index.html': 'docs' })).toMatchObject({ status: 201 });
    // Code that cannot load is deployed (its files are kept) but reported: error, with the reason.
    const broken = await upload('broken', {
      'server.mjs': 'export default {',
      'tessera-app.toml': 'entry = "server.mjs"',
    });
    expect(broken.status).toBe(201);
    expect(broken.body.status).toMatchObject({
      state: 'error',
      reason: expect.stringContaining('SyntaxError'),
    });

    const dataDir = path.join(t.home, 'repository', 'tenants', String(tenantId), 'appdata', 'shop');
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    const listed = await t.call('GET', '/api/v1/tenants/acme.com/webapps', { as: ACME });
    expect(listed.status).toBe(200);
    expect(
      listed.body.webapps.map((a: Record<string, { state?: string }>) => [
        a.name,
        a.runtime,
        a.status?.state,
      ]),
    ).toEqual([
      ['broken', 'node', 'error'],
      ['docs', 'static', undefined],
      ['shop', 'node', 'running'],
    ]);
    expect(JSON.stringify(listed.body)).not.toContain('not for the API');

    // A node app's folder is code: every path is the app's to answer, none is a file handed out.
    for (const file of ['server.js', '', 'tessera-app.toml']) {
      const response = await fetch(`${t.server.url}/t/acme.com/shop/${file}`);
      expect(response.status, file).toBe(200);
      expect(await response.text(), file).toBe('code, not a file to serve');
    }
    // A broken app answers 503 with Retry-After, never its files.
    const down = await fetch(`${t.server.url}/t/acme.com/broken/server.mjs`);
    expect(down.status).toBe(503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await down.text()).not.toContain('export default');
    expect(await (await fetch(`${t.server.url}/t/acme.com/docs/`)).text()).toBe('docs');
  });

  it('refuses an upload whose entry is missing, writing nothing', async () => {
    t = await startTestServer('sqlite');
    await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: ACME[1] },
    });
    const refused = await upload('shop', { 'tessera-app.toml': 'entry = "server.js"', 'index.js': '' });
    expect(refused).toEqual({
      status: 400,
      body: expect.objectContaining({
        error: 'BAD_REQUEST',
        message: 'tessera-app.toml: entry "server.js" does not exist in the app',
      }),
    });
    const badLimit = await upload('shop', {
      ...SHOP,
      'tessera-app.toml': 'entry = "server.js"\n[limits]\nmemory_mb = 9',
    });
    expect(badLimit.body.message).toBe(
      'tessera-app.toml: [limits] memory_mb must be a whole number from 16 to 8192 (MB)',
    );
    const tenantId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: SUPER })).body.id;
    expect(readdirSync(path.join(t.home, 'repository', 'tenants', String(tenantId), 'webapps'))).toEqual([]);
  });

  it('documents runtime, limits and status in the OpenAPI document', async () => {
    t = await startTestServer('sqlite');
    const paths = (await t.call('GET', '/openapi.json')).body.paths;
    const list =
      paths['/api/v1/tenants/{domain}/webapps'].get.responses['200'].content['application/json'].schema;
    const app = list.properties.webapps.items;
    expect(Object.keys(app.properties)).toEqual(
      expect.arrayContaining(['runtime', 'entry', 'health', 'limits', 'status', 'version']),
    );
    expect(app.required).toEqual(expect.arrayContaining(['runtime', 'version']));
    expect(app.required).not.toContain('status');
    expect(Object.keys(app.properties.status.properties)).toEqual([
      'state',
      'reason',
      'restarts',
      'memoryBytes',
      'since',
      'version',
      'next',
      'failed',
    ]);
  });
});
