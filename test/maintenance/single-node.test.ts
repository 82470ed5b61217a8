import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { legacySha256 } from '../../src/userstores/passwords.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import {
  ADMIN_PASSWORD,
  basicAuthorization,
  callJson,
  startServerOn,
  startTestServer,
  type TestServer,
} from '../helpers/server.js';
import { buildZip, eventually } from '../webapps/helpers.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];

let t: TestServer | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
});

async function withTenant(kind: DatabaseKind): Promise<TestServer> {
  const server = await startTestServer(kind);
  const created = await server.call('POST', '/api/v1/tenants', {
    as: SUPER,
    body: { domain: 'acme.com', adminPassword: ACME[1] },
  });
  expect(created.status).toBe(201);
  return server;
}

const gauge = async (server: TestServer) =>
  /^tessera_maintenance (\d)$/m.exec(String((await server.call('GET', '/metrics')).body))?.[1];

describe.each(DATABASE_KINDS)('maintenance mode on %s', (kind) => {
  it('refuses writes with 503 MAINTENANCE while logins and reads work, and holds across a restart', async () => {
    t = await withTenant(kind);
    const server = t;
    expect((await server.call('GET', '/readyz')).body).toMatchObject({ ready: true, maintenance: false });
    expect(await gauge(server)).toBe('0');
    expect((await server.call('GET', '/api/v1/maintenance', { as: SUPER })).body).toMatchObject({
      on: false,
      generation: 0,
    });
    // A tenant's admin may neither read nor switch it.
    for (const method of ['GET', 'PUT', 'DELETE'])
      expect(
        (
          await server.call(method, '/api/v1/maintenance', {
            as: ACME,
            body: method === 'PUT' ? {} : undefined,
          })
        ).status,
      ).toBe(403);

    const on = await server.call('PUT', '/api/v1/maintenance', {
      as: SUPER,
      body: { message: 'Upgrading to 2.1, back at noon.', retryAfterSeconds: 300 },
    });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({
      on: true,
      generation: 1,
      allAcked: true,
      message: 'Upgrading to 2.1, back at noon.',
    });
    expect(on.body.nodes).toHaveLength(1);
    expect(on.body.nodes[0]).toMatchObject({ port: server.server.port, acked: true });

    const refused = await server.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'beta.com', adminPassword: 'beta-admin-pw' },
    });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: 'MAINTENANCE', message: 'Upgrading to 2.1, back at noon.' });
    expect(refused.headers.get('retry-after')).toBe('300');
    expect((await server.call('DELETE', '/api/v1/tenants/acme.com', { as: SUPER })).status).toBe(503);

    // Logins and reads.
    expect(
      (
        await server.call('POST', '/api/v1/authenticate', {
          body: { username: 'admin@acme.com', password: ACME[1] },
        })
      ).status,
    ).toBe(200);
    expect((await server.call('GET', '/api/v1/tenants', { as: SUPER })).status).toBe(200);
    const session = await server.call('POST', '/api/v1/sessions', {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    expect(session.status).toBe(201);
    const bearer = { authorization: `Bearer ${session.body.token}` };
    expect((await fetch(`${server.server.url}/api/v1/tenants`, { headers: bearer })).status).toBe(200);
    expect(
      (await fetch(`${server.server.url}/api/v1/sessions/current`, { method: 'DELETE', headers: bearer }))
        .status,
    ).toBe(204);
    expect((await server.call('GET', '/healthz')).status).toBe(200);
    expect((await server.call('GET', '/readyz')).body).toMatchObject({ ready: true, maintenance: true });
    expect(await gauge(server)).toBe('1');

    // A restart keeps the mode: the state is in the database.
    await server.server.close();
    server.server = await startServerOn(server.home, 'warn');
    // TestServer.stop closes the server it started, which is closed already: close the new one instead.
    const restarted = server.server;
    server.stop = async () => {
      await restarted.close();
      await server.scratch.drop();
    };
    const again = (route: string, options: Parameters<typeof callJson>[3]) =>
      callJson(server.server.url, 'POST', route, options);
    const afterRestart = await again('/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'beta.com', adminPassword: 'beta-admin-pw' },
    });
    expect(afterRestart.status).toBe(503);
    expect(afterRestart.headers.get('retry-after')).toBe('300');
    const status = await callJson(server.server.url, 'GET', '/api/v1/maintenance', { as: SUPER });
    expect(status.body).toMatchObject({ on: true, generation: 1, allAcked: true, by: 'admin@carbon.super' });

    const off = await callJson(server.server.url, 'DELETE', '/api/v1/maintenance', { as: SUPER });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ on: false, generation: 2 });
    expect(
      (
        await again('/api/v1/tenants', {
          as: SUPER,
          body: { domain: 'beta.com', adminPassword: 'beta-admin-pw' },
        })
      ).status,
    ).toBe(201);
    // The state rows are none the registry API can name.
    const children = await callJson(
      server.server.url,
      'GET',
      '/api/v1/tenants/carbon.super/registry/children/',
      {
        as: SUPER,
      },
    );
    expect(JSON.stringify(children.body)).not.toContain('maintenance');
  });

  it('lets a legacy-hash login succeed without re-hashing it, in PRIMARY and in a JDBC store', async () => {
    t = await withTenant(kind);
    const server = t;
    const acmeId = (await server.call('GET', '/api/v1/tenants/acme.com', { as: SUPER })).body.id as number;
    const partnersUrl = `sqlite:repository/tenants/${acmeId}/acme-partners.db`;
    const store = await server.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: SUPER,
      body: { domain: 'PARTNERS', type: 'jdbc', url: partnersUrl, readOnly: false },
    });
    expect(store.status).toBe(201);
    const partners = await openDatabase(partnersUrl, server.home);
    try {
      const salt = '00112233445566778899aabbccddeeff';
      const legacy = legacySha256('old-password', salt);
      const databases: [string, Database['db']][] = [
        ['', server.server.context.database.db],
        ['PARTNERS/', partners.db],
      ];
      for (const [, db] of databases)
        await db
          .insertInto('users')
          .values({
            tenant_id: acmeId,
            username: 'old-sha',
            password_hash: legacy,
            password_salt: salt,
            password_algorithm: 'sha256',
            is_system: 0,
            created_at: 1,
          })
          .execute();
      const hashOf = (db: Database['db']) =>
        db
          .selectFrom('users')
          .select(['password_hash', 'password_algorithm'])
          .where('tenant_id', '=', acmeId)
          .where('username', '=', 'old-sha')
          .executeTakeFirstOrThrow();
      const login = (prefix: string) =>
        server.call('POST', '/api/v1/authenticate', {
          body: { username: `${prefix}old-sha@acme.com`, password: 'old-password' },
        });

      expect((await server.call('PUT', '/api/v1/maintenance', { as: SUPER, body: {} })).status).toBe(200);
      for (const [prefix, db] of databases) {
        expect((await login(prefix)).status, prefix).toBe(200);
        expect(await hashOf(db), prefix).toEqual({ password_hash: legacy, password_algorithm: 'sha256' });
      }
      // Off again, the next login re-hashes as it always did.
      expect((await server.call('DELETE', '/api/v1/maintenance', { as: SUPER })).status).toBe(200);
      for (const [prefix, db] of databases) {
        expect((await login(prefix)).status, prefix).toBe(200);
        expect((await hashOf(db)).password_algorithm, prefix).toBe('argon2id');
      }
    } finally {
      await partners.close();
    }
  });
});

describe('maintenance mode on SQLite: work in flight, hot deploy, the API description', () => {
  it('is in the OpenAPI document', async () => {
    t = await startTestServer('sqlite');
    const openapi = await t.call('GET', '/openapi.json');
    expect(Object.keys(openapi.body.paths['/api/v1/maintenance'] ?? {}).sort()).toEqual([
      'delete',
      'get',
      'put',
    ]);
  });
  it('answers `on` only after a write already let in has completed; later writes are refused', async () => {
    t = await withTenant('sqlite');
    const server = t;
    const zip = await buildZip({ 'index.html': 'slow', 'data.bin': Buffer.alloc(2 * 1024 * 1024, 7) });
    let sendTheRest!: () => void;
    const rest = new Promise<void>((resolve) => {
      sendTheRest = resolve;
    });
    let step = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step === 0) {
          step = 1;
          controller.enqueue(zip.subarray(0, 64 * 1024));
          return;
        }
        await rest;
        controller.enqueue(zip.subarray(64 * 1024));
        controller.close();
      },
    });
    const finished: string[] = [];
    const uploading = fetch(`${server.server.url}/api/v1/tenants/acme.com/webapps?name=slow`, {
      method: 'POST',
      headers: { authorization: basicAuthorization(ACME), 'content-type': 'application/zip' },
      body,
      duplex: 'half',
    } as RequestInit).then(async (response) => {
      finished.push('upload');
      return response.status;
    });
    const mode = server.server.context.maintenance;
    await eventually(() => mode.writesInFlight === 1);
    const switching = server.call('PUT', '/api/v1/maintenance', { as: SUPER, body: {} }).then((reply) => {
      finished.push('on');
      return reply;
    });
    await eventually(() => mode.on);
    // Refused at once, while the upload let in before still runs.
    expect((await server.call('DELETE', '/api/v1/tenants/acme.com/webapps/other', { as: ACME })).status).toBe(
      503,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(finished).toEqual([]);
    sendTheRest();
    const [uploadStatus, on] = await Promise.all([uploading, switching]);
    expect(uploadStatus).toBe(201);
    expect(on.body).toMatchObject({ on: true, allAcked: true });
    expect(finished).toEqual(['upload', 'on']);
    expect(mode.writesInFlight).toBe(0);
  });

  it('holds hot deploy of a new app until maintenance is off', async () => {
    t = await startTestServer('sqlite');
    expect((await t.call('PUT', '/api/v1/maintenance', { as: SUPER, body: {} })).status).toBe(200);
    const folder = path.join(t.home, 'repository', 'deployment', 'server', 'webapps', 'later');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'index.html'), 'deployed after maintenance');
    // The watcher's quiet time and two periodic rescans (2 s each) pass without a deploy.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect((await fetch(`${t.server.url}/later/`)).status).toBe(404);
    expect((await t.call('DELETE', '/api/v1/maintenance', { as: SUPER })).status).toBe(200);
    const url = `${t.server.url}/later/`;
    await eventually(async () => (await fetch(url)).status === 200, 5_000);
  });
});
