import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { scratchFolder } from '../helpers/databases.js';
import { basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { eventually } from '../webapps/helpers.js';
import { EXPRESS_APP, FETCH_APP, FETCH_APP_TOML, WS_APP } from './node-apps-fixtures.js';
import {
  ACME,
  appHostPids,
  jsonOf,
  metricSample,
  npmInstall,
  processAlive,
  SUPER,
  uploadApp,
  uploadFiles,
  zipFolder,
} from './node-apps-helpers.js';

/**
 * Issue 16 end to end, on each database kind: apps uploaded through the API as zips, served through
 * Tessera's HTTP front by their own processes, as users and app authors meet them.
 */

const ALICE: [string, string] = ['alice', 'alice-app-pw-1'];
const BOB: [string, string] = ['PARTNERS/bob', 'bob-app-pw-1'];

/** The Express and ws apps, installed from npm's cache into their folders and zipped, once for both kinds. */
let expressZip: Buffer;
let wsZip: Buffer;
const folders = scratchFolder('node-apps-src');
beforeAll(async () => {
  const expressDir = path.join(folders.dir, 'express-app');
  const wsDir = path.join(folders.dir, 'ws-app');
  for (const [dir, entry, source, toml] of [
    [expressDir, 'app.mjs', EXPRESS_APP, 'entry = "app.mjs"'],
    [wsDir, 'chat.mjs', WS_APP, 'entry = "chat.mjs"\nlogin = true'],
  ] as const) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, entry), source);
    writeFileSync(path.join(dir, 'tessera-app.toml'), toml);
  }
  await Promise.all([npmInstall(expressDir, ['express@5']), npmInstall(wsDir, ['ws@8'])]);
  [expressZip, wsZip] = await Promise.all([zipFolder(expressDir), zipFolder(wsDir)]);
}, 150_000);
afterAll(() => folders.remove());

describe.each(['sqlite', 'postgres'] as const)('node apps end to end on %s', (kind) => {
  let t: TestServer;
  let stopped = false;
  const base = () => `${t.server.url}/t/acme.com`;
  const as = (user: [string, string]) => ({ authorization: basicAuthorization(user) });

  beforeAll(async () => {
    t = await startTestServer(kind);
    const acme = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: ACME[1] },
    });
    expect(acme.status).toBe(201);
    for (const role of ['developers', 'shoppers']) {
      expect(
        (await t.call('POST', '/api/v1/tenants/acme.com/roles', { as: ACME, body: { name: role } })).status,
      ).toBe(201);
    }
    const alice = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: ALICE[0], password: ALICE[1], roles: ['developers', 'shoppers'], attributes: {} },
    });
    expect(alice.status).toBe(201);
    // A secondary store: a SQLite file in the tenant's own folder is the cheapest on either kind.
    const store = await t.call('POST', '/api/v1/tenants/acme.com/userstores', {
      as: ACME,
      body: {
        domain: 'PARTNERS',
        type: 'jdbc',
        url: `sqlite:repository/tenants/${acme.body.id}/partners.db`,
        readOnly: false,
      },
    });
    expect(store.status).toBe(201);
    const bob = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ACME,
      body: { username: BOB[0], password: BOB[1], roles: [], attributes: {} },
    });
    expect(bob.status).toBe(201);

    const uploads = await Promise.all([
      uploadFiles(t, 'hello', { 'tessera-app.toml': FETCH_APP_TOML, 'server.mjs': FETCH_APP }),
      uploadApp(t, ACME, 'acme.com', 'shop', expressZip),
      uploadApp(t, ACME, 'acme.com', 'chat', wsZip),
    ]);
    for (const uploaded of uploads) {
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      expect(uploaded.body.status.state, JSON.stringify(uploaded.body)).toBe('running');
    }
  }, 60_000);
  afterAll(async () => {
    if (!stopped) await t?.stop();
  });

  it('gives a fetch-handler app the signed-in user, the path below the mount and its environment, never the password', async () => {
    const whoami = await fetch(`${base()}/hello/whoami?x=1&y=a%20b`, {
      headers: {
        ...as(ALICE),
        'x-tessera-user': 'mallory',
        'X-Tessera-Roles': 'admin',
        'x-tessera-tenant': 'globex.com',
        'x-forwarded-prefix': '/elsewhere',
      },
    });
    expect(whoami.status).toBe(200);
    const seen = await jsonOf(whoami);
    expect(seen.path).toBe('/whoami');
    expect(seen.search).toBe('?x=1&y=a%20b');
    expect(seen.headers).toMatchObject({
      'x-tessera-tenant': 'acme.com',
      'x-tessera-user': 'alice',
      'x-tessera-store': 'PRIMARY',
      'x-forwarded-prefix': '/t/acme.com/hello',
      'x-forwarded-proto': 'http',
    });
    expect(seen.headers['x-tessera-roles'].split(',').sort()).toEqual(['developers', 'shoppers']);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-tessera-key']).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(ALICE[1]);
    expect(JSON.stringify(seen)).not.toContain('mallory');

    const partner = await jsonOf(fetch(`${base()}/hello/whoami`, { headers: as(BOB) }));
    expect(partner.headers).toMatchObject({
      'x-tessera-user': 'PARTNERS/bob',
      'x-tessera-store': 'PARTNERS',
      'x-tessera-roles': '',
    });

    const wrong = await fetch(`${base()}/hello/whoami`, { headers: as([ALICE[0], 'not-her-password']) });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('x-tessera');
    expect((await fetch(`${base()}/hello/whoami`)).status).toBe(401);

    const env = await jsonOf(fetch(`${base()}/hello/env`, { headers: as(ALICE) }));
    const tenantId = (await t.call('GET', '/api/v1/tenants/acme.com', { as: SUPER })).body.id;
    expect(env).toMatchObject({
      greeting: 'hello from the toml',
      fromEnvArgument: 'hello from the toml',
      tenant: 'acme.com',
      app: 'hello',
      dataDir: path.join(t.home, 'repository', 'tenants', String(tenantId), 'appdata', 'hello'),
    });
    expect(Number.isNaN(Date.parse(env.version))).toBe(false);
  });

  it('keeps what the app wrote in TESSERA_DATA_DIR across a redeploy, which runs a new process and version', async () => {
    const before = await jsonOf(fetch(`${base()}/hello/env`, { headers: as(ALICE) }));
    const written = await fetch(`${base()}/hello/data`, {
      method: 'POST',
      headers: as(ALICE),
      body: `kept across deploys on ${kind}`,
    });
    expect(written.status).toBe(201);

    const again = await uploadFiles(t, 'hello', {
      'tessera-app.toml': FETCH_APP_TOML,
      'server.mjs': FETCH_APP,
    });
    expect(again.status).toBe(201);
    expect(again.body.status.state).toBe('running');
    const after = await jsonOf(fetch(`${base()}/hello/env`, { headers: as(ALICE) }));
    expect(after.pid).not.toBe(before.pid);
    expect(after.version).not.toBe(before.version);
    // The old version drains what it has in flight and stops once the new one has taken over.
    await eventually(() => !processAlive(before.pid), 10_000);
    const read = await fetch(`${base()}/hello/data`, { headers: as(ALICE) });
    expect(read.status).toBe(200);
    expect(await read.text()).toBe(`kept across deploys on ${kind}`);
  });

  it('streams a request body of a few MiB both ways under max_body_mb, and answers 413 past it', async () => {
    const body = randomBytes(6 * 1024 * 1024);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const digested = await fetch(`${base()}/hello/digest`, { method: 'POST', headers: as(ALICE), body });
    expect(digested.status).toBe(200);
    expect(await digested.json()).toEqual({ bytes: body.length, sha256 });

    const echoed = await fetch(`${base()}/hello/echo`, { method: 'POST', headers: as(ALICE), body });
    expect(echoed.status).toBe(200);
    const back = Buffer.from(await echoed.arrayBuffer());
    expect(back.length).toBe(body.length);
    expect(createHash('sha256').update(back).digest('hex')).toBe(sha256);

    // Declared too large: refused before the app sees it.
    const declared = await fetch(`${base()}/hello/digest`, {
      method: 'POST',
      headers: as(ALICE),
      body: randomBytes(9 * 1024 * 1024),
    });
    expect(declared.status).toBe(413);
    // Chunked, with no length: cut once it passes the limit.
    const chunk = randomBytes(1024 * 1024);
    const chunked = await fetch(`${base()}/hello/digest`, {
      method: 'POST',
      headers: as(ALICE),
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 9; i++) controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it('streams server-sent events as the app sends them, answers HEAD, and keeps redirects inside the mount', async () => {
    const events = await fetch(`${base()}/hello/events`, { headers: as(ALICE) });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    // The first event arrived while the app still holds the second one back.
    expect(text).toBe('event: first\ndata: one\n\n');
    const release = await fetch(`${base()}/hello/release`, { headers: as(ALICE) });
    expect(await release.text()).toBe('1');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe('event: first\ndata: one\n\nevent: second\ndata: two\n\n');

    const head = await fetch(`${base()}/hello/page`, { method: 'HEAD', headers: as(ALICE) });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-app-method')).toBe('HEAD');
    expect(await head.text()).toBe('');
    const get = await fetch(`${base()}/hello/page`, { headers: as(ALICE) });
    expect([get.headers.get('x-app-method'), await get.text()]).toEqual(['GET', 'a page']);

    const redirect = await fetch(`${base()}/hello/go`, { headers: as(ALICE), redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/t/acme.com/hello/landing?from=go');
  });

  it('serves an Express app installed from npm: JSON POST, a route param, its 404, req.path below the mount', async () => {
    const posted = await fetch(`${base()}/shop/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'A-1', quantity: 3 }),
    });
    expect(posted.status).toBe(201);
    expect(await posted.json()).toEqual({
      received: { sku: 'A-1', quantity: 3 },
      path: '/items',
      prefix: '/t/acme.com/shop',
    });
    const item = await fetch(`${base()}/shop/items/42?color=red`);
    expect(item.status).toBe(200);
    expect(await item.json()).toEqual({ id: '42', path: '/items/42', query: { color: 'red' } });
    const missing = await fetch(`${base()}/shop/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Cannot GET /nowhere');
  });

  it('tunnels a WebSocket to a ws server attached to the app, and refuses one without credentials 401', async () => {
    const url = `${base().replace('http:', 'ws:')}/chat/`;
    const socket = new WebSocket(url, { headers: as(ALICE) });
    const received: string[] = [];
    const greeted = new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', (data) => {
        received.push(String(data));
        if (received.length === 1) resolve();
      });
    });
    await greeted;
    expect(received[0]).toBe('hello alice at /');
    const echoed = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send('ping over tessera');
    expect(await echoed).toBe('echo:ping over tessera');
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.close(1000);
    expect(await closed).toBe(1000);

    const refused = new WebSocket(url);
    const status = await new Promise<number>((resolve, reject) => {
      refused.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      refused.once('open', () => reject(new Error('opened without credentials')));
      refused.once('error', () => {});
    });
    expect(status).toBe(401);
    refused.terminate();
  });

  it('counts requests per status in /metrics and logs the app’s lines with the request id', async () => {
    const metricsText = async () => {
      const response = await fetch(`${t.server.url}/metrics`);
      expect(response.status).toBe(200);
      return response.text();
    };
    const labels = (status: string) => ({ tenant: 'acme.com', app: 'shop', status });
    const before = await metricsText();
    for (let i = 0; i < 3; i++) expect((await fetch(`${base()}/shop/items/${i}`)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await fetch(`${base()}/shop/missing/${i}`)).status).toBe(404);
    // The front records a request when its connection's response has closed: poll until all five are in.
    const okBefore = metricSample(before, 'tessera_app_requests_total', labels('200')) ?? 0;
    const missingBefore = metricSample(before, 'tessera_app_requests_total', labels('404')) ?? 0;
    let after = '';
    await eventually(async () => {
      after = await metricsText();
      return metricSample(after, 'tessera_app_requests_total', labels('404')) === missingBefore + 2;
    });
    expect(metricSample(after, 'tessera_app_requests_total', labels('200'))).toBe(okBefore + 3);
    // Requests the app answered itself are not restarts.
    expect(metricSample(after, 'tessera_app_restarts_total', { tenant: 'acme.com', app: 'shop' }) ?? 0).toBe(
      0,
    );

    const marker = `from-${kind}-${randomBytes(4).toString('hex')}`;
    const logged = await fetch(`${base()}/hello/log?m=${marker}`, { headers: as(ALICE) });
    expect(logged.status).toBe(200);
    // Tessera does not return its request id to the client; the app saw it and tells it back.
    const { requestId } = await jsonOf(logged);
    expect(requestId).toMatch(/\S/);
    const logFile = path.join(t.home, 'logs', 'apps', 'acme.com', 'hello.log');
    await eventually(() => {
      try {
        return readFileSync(logFile, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
    const line = readFileSync(logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes(marker));
    expect(line).toMatch(new RegExp(`^\\S+ stdout \\[${requestId}\\] log-marker ${marker}$`));
  });

  it('leaves no app process behind once the server has stopped', async () => {
    const hosts = appHostPids();
    // hello, shop and chat; their redeployed predecessors are gone already.
    expect(hosts).toHaveLength(3);
    const { pid } = await jsonOf(fetch(`${base()}/hello/env`, { headers: as(ALICE) }));
    expect(hosts).toContain(pid);
    stopped = true;
    await t.stop();
    expect(hosts.filter(processAlive)).toEqual([]);
    expect(appHostPids()).toEqual([]);
  });
});
