import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppDirectory, AppStatus, RunningApp } from '../../src/webapps/runtime/contract.js';
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

/** A directory standing in for the application runtime: every app it is asked about has `status`. */
function directoryOf(status: AppStatus, asked: string[]): AppDirectory {
  return {
    get(tenantId, name): RunningApp {
      asked.push(`${tenantId}/${name}`);
      return {
        tenantId,
        tenantDomain: 'acme.com',
        name,
        config: { runtime: 'node', login: false, env: {}, limits: SHOP_LIMITS },
        status: () => status,
        endpoint: () => undefined,
        retryAfterS: () => 1,
        settled: async () => status,
      };
    },
  };
}
const SHOP_LIMITS = { memoryMb: 128, requestTimeoutS: 30, maxConcurrent: 8, maxBodyMb: 10 };

describe('node apps through /api/v1/tenants/{domain}/webapps', () => {
  it('deploys an upload with its settings and data folder, lists its status, and never serves its files', async () => {
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
    expect(uploaded.body).toEqual({
      name: 'shop',
      source: 'zip',
      runtime: 'node',
      entry: 'server.js',
      login: false,
      health: '/healthz',
      limits: SHOP_LIMITS,
      url: '/t/acme.com/shop/',
      deployedAt: expect.any(String),
      version: uploaded.body.deployedAt,
    });
    expect(await upload('docs', { 'index.html': 'docs' })).toMatchObject({ status: 201 });

    const dataDir = path.join(t.home, 'repository', 'tenants', String(tenantId), 'appdata', 'shop');
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    // Without an application runtime there is no status to show.
    let listed = await t.call('GET', '/api/v1/tenants/acme.com/webapps', { as: ACME });
    expect(listed.status).toBe(200);
    expect(
      listed.body.webapps.map((a: Record<string, unknown>) => [a.name, a.runtime, 'status' in a]),
    ).toEqual([
      ['docs', 'static', false],
      ['shop', 'node', false],
    ]);
    expect(JSON.stringify(listed.body)).not.toContain('not for the API');

    const since = new Date('2030-01-02T03:04:05.000Z');
    const asked: string[] = [];
    t.server.context.apps = directoryOf(
      {
        state: 'error',
        reason: 'exit code 1: SyntaxError',
        restarts: 3,
        memoryBytes: 52_428_800,
        pid: 9,
        since,
      },
      asked,
    );
    listed = await t.call('GET', '/api/v1/tenants/acme.com/webapps', { as: ACME });
    const [docs, shop] = listed.body.webapps;
    expect(docs).toEqual({
      name: 'docs',
      source: 'zip',
      runtime: 'static',
      login: false,
      url: '/t/acme.com/docs/',
      deployedAt: expect.any(String),
      version: docs.deployedAt,
    });
    expect(shop.status).toEqual({
      state: 'error',
      reason: 'exit code 1: SyntaxError',
      restarts: 3,
      memoryBytes: 52_428_800,
      since: '2030-01-02T03:04:05.000Z',
    });
    // Static apps have no process to ask about.
    expect(asked).toEqual([`${tenantId}/shop`]);

    // A node app's folder is code: the static server answers nothing from it.
    for (const file of ['server.js', '', 'tessera-app.toml']) {
      const response = await fetch(`${t.server.url}/t/acme.com/shop/${file}`);
      expect(response.status, file).toBe(404);
      expect(await response.text(), file).not.toContain('code, not a file');
    }
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
    ]);
  });
});
