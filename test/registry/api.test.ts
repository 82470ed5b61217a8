import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const GLOBEX: [string, string] = ['admin@globex.com', 'globex-admin-pw'];
const BASE = '/api/v1/tenants/acme.com/registry';

describe.each(['sqlite', 'postgres'] as const)('registry API on %s', (kind) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(kind);
    for (const [domain, password] of [
      ['acme.com', ACME[1]],
      ['globex.com', GLOBEX[1]],
    ]) {
      const created = await t.call('POST', '/api/v1/tenants', {
        as: SUPER,
        body: { domain, adminPassword: password },
      });
      expect(created.status).toBe(201);
    }
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('writes versions, reads them, lists them, restores and deletes', async () => {
    const put = await t.call('PUT', `${BASE}/resources/services/orders.json`, {
      as: ACME,
      body: { content: '{"replicas":1}', mediaType: 'application/json', properties: { team: 'orders' } },
    });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({
      path: '/services/orders.json',
      version: 1,
      content: '{"replicas":1}',
      encoding: 'utf8',
      properties: { team: 'orders' },
      createdBy: 'admin@acme.com',
    });
    const second = await t.call('PUT', `${BASE}/resources/services/orders.json`, {
      as: ACME,
      body: { content: '{"replicas":3}', mediaType: 'application/json' },
    });
    expect(second.body.version).toBe(2);

    const latest = await t.call('GET', `${BASE}/resources/services/orders.json`, { as: ACME });
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({ version: 2, content: '{"replicas":3}', properties: {} });
    const first = await t.call('GET', `${BASE}/resources/services/orders.json?version=1`, { as: ACME });
    expect(first.body).toMatchObject({
      version: 1,
      content: '{"replicas":1}',
      properties: { team: 'orders' },
    });
    expect(
      (await t.call('GET', `${BASE}/resources/services/orders.json?version=7`, { as: ACME })).status,
    ).toBe(404);

    const versions = await t.call('GET', `${BASE}/versions/services/orders.json`, { as: ACME });
    expect(versions.body.path).toBe('/services/orders.json');
    expect(versions.body.versions.map((v: { version: number; size: number }) => [v.version, v.size])).toEqual(
      [
        [1, 14],
        [2, 14],
      ],
    );

    const restored = await t.call('POST', `${BASE}/restore/services/orders.json`, {
      as: ACME,
      body: { version: 1 },
    });
    expect(restored.status).toBe(201);
    expect(restored.body).toMatchObject({
      version: 3,
      content: '{"replicas":1}',
      properties: { team: 'orders' },
    });

    const children = await t.call('GET', `${BASE}/children/`, { as: ACME });
    expect(children.body).toEqual({ path: '/', children: ['/services'] });
    const below = await t.call('GET', `${BASE}/children/services`, { as: ACME });
    expect(below.body).toEqual({ path: '/services', children: ['/services/orders.json'] });

    expect((await t.call('DELETE', `${BASE}/resources/services/orders.json`, { as: ACME })).status).toBe(204);
    expect((await t.call('GET', `${BASE}/resources/services/orders.json`, { as: ACME })).status).toBe(404);
    expect((await t.call('DELETE', `${BASE}/resources/services/orders.json`, { as: ACME })).status).toBe(404);

    const audit = await t.server.context.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target', '=', '/services/orders.json')
      .execute();
    expect(audit.map((a) => a.action).sort()).toEqual([
      'registry.delete',
      'registry.put',
      'registry.put',
      'registry.restore',
    ]);
  });

  it('takes and gives binary content as base64', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 0x80, 0x7f]);
    const put = await t.call('PUT', `${BASE}/resources/bin/logo.png`, {
      as: ACME,
      body: { content: bytes.toString('base64'), encoding: 'base64', mediaType: 'image/png' },
    });
    expect(put.status).toBe(201);
    const back = await t.call('GET', `${BASE}/resources/bin/logo.png`, { as: ACME });
    expect(back.body.encoding).toBe('base64');
    expect(Buffer.from(back.body.content, 'base64').equals(bytes)).toBe(true);
  });

  it("keeps a tenant admin out of another tenant's registry, and refuses bad paths", async () => {
    await t.call('PUT', `${BASE}/resources/secret.txt`, {
      as: ACME,
      body: { content: 'acme only', mediaType: 'text/plain' },
    });
    expect((await t.call('GET', `${BASE}/resources/secret.txt`, { as: GLOBEX })).status).toBe(404);
    expect((await t.call('GET', `${BASE}/children/`, { as: GLOBEX })).status).toBe(404);
    expect(
      (
        await t.call('PUT', `${BASE}/resources/x`, {
          as: GLOBEX,
          body: { content: 'x', mediaType: 'text/plain' },
        })
      ).status,
    ).toBe(404);
    expect((await t.call('DELETE', `${BASE}/resources/secret.txt`, { as: GLOBEX })).status).toBe(404);
    expect((await t.call('GET', `${BASE}/resources/secret.txt`, { as: SUPER })).body.content).toBe(
      'acme only',
    );
    const globexOwn = await t.call('GET', '/api/v1/tenants/globex.com/registry/resources/secret.txt', {
      as: GLOBEX,
    });
    expect(globexOwn.status).toBe(404);
    const bad = await t.call('PUT', `${BASE}/resources/a//b`, {
      as: ACME,
      body: { content: 'x', mediaType: 'text/plain' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('BAD_REQUEST');
    expect((await t.call('GET', `${BASE}/resources/a/..%2Fb`, { as: ACME })).status).toBe(400);
  });

  it('documents the routes in OpenAPI', async () => {
    const spec = await t.call('GET', '/openapi.json');
    for (const route of ['resources', 'versions', 'restore', 'children'])
      expect(Object.keys(spec.body.paths)).toContain(`/api/v1/tenants/{domain}/registry/${route}/{*}`);
  });
});
