import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TesseraError } from '../../src/errors.js';
import { homeLayout, SUPER_TENANT_DOMAIN, SUPER_TENANT_ID, webappsFolder } from '../../src/home/layout.js';
import { type Authenticator, WEBAPP_CSP, webappsPlugin } from '../../src/http/plugins/webapps.js';
import { Deployer, type TenantDirectory } from '../../src/webapps/deployer.js';
import type { AppConfig, AppDirectory, AppRequestMetrics } from '../../src/webapps/runtime/contract.js';
import { scratchFolder } from '../helpers/databases.js';
import { basicAuthorization } from '../helpers/server.js';
import { captureLog } from '../webapps/helpers.js';
import { nodeConfig, TestApp, Upstream } from './app-upstream.js';

const ACME = 3;
const PASSWORD = 'pw:with-colon';
const tenants: TenantDirectory = {
  async domainOf(tenantId) {
    return tenantId === ACME ? 'acme.com' : tenantId === SUPER_TENANT_ID ? SUPER_TENANT_DOMAIN : undefined;
  },
  async idOf(domain) {
    return domain === 'acme.com' ? ACME : undefined;
  },
};
/** The client addresses the front passed with each sign-in, for the lockout's count. */
const signInAddresses: string[] = [];
/** As the server's authenticator answers: the qualified name, tenant included; `mallory` is locked out. */
const authenticate: Authenticator = async (domain, username, password, address) => {
  signInAddresses.push(address);
  if (username === 'mallory')
    throw new TesseraError('TOO_MANY_ATTEMPTS', 'Too many failed logins: try again in 42 s.', {
      retryAfterSeconds: 42,
    });
  if (username === 'oscar') throw new TesseraError('PASSWORD_EXPIRED', 'The password of oscar has expired.');
  return domain === 'acme.com' && username === 'SECONDARY/alice' && password === PASSWORD
    ? { username: 'SECONDARY/alice@acme.com', roles: ['buyer', 'staff'] }
    : undefined;
};

/** Every app of the test: name -> its settings (node apps) or undefined (static). */
const CONFIGS: Record<string, AppConfig | undefined> = {
  shop: nodeConfig(),
  secure: nodeConfig({ login: true }),
  down: nodeConfig(),
  waking: nodeConfig(),
  slow: nodeConfig({ limits: { requestTimeoutS: 1 } }),
  busy: nodeConfig({ limits: { maxConcurrent: 2 } }),
  small: nodeConfig({ limits: { maxBodyMb: 0.01 } }),
  pages: undefined,
};
const SUPER_HUB = nodeConfig();
const SMALL_LIMIT = Math.floor(0.01 * 1024 * 1024);

describe('app proxy', () => {
  const scratch = scratchFolder('app-proxy');
  const observed: Array<[string, string, number]> = [];
  const metrics: AppRequestMetrics = {
    observeRequest: (tenant, app, status, seconds) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      observed.push([tenant, app, status]);
    },
  };
  const running = new Map<string, TestApp>();
  const directory: AppDirectory = {
    get: (tenantId, name) =>
      tenantId === ACME ? running.get(name) : name === 'hub' ? running.get('super:hub') : undefined,
  };
  let upstream: Upstream;
  let deployer: Deployer;
  let app: FastifyInstance;
  let origin: string;
  let front: Pool;

  beforeAll(async () => {
    const layout = homeLayout(path.join(scratch.dir, 'home'));
    for (const name of Object.keys(CONFIGS)) {
      const folder = path.join(webappsFolder(layout, ACME), name);
      mkdirSync(folder, { recursive: true });
      writeFileSync(path.join(folder, 'index.html'), `static ${name}`);
      const config = CONFIGS[name];
      if (config) {
        // The deployed settings name the runtime and the login; the limits come from the running app's.
        writeFileSync(path.join(folder, 'server.js'), '// run by the test upstream');
        writeFileSync(
          path.join(folder, 'tessera-app.toml'),
          `runtime = "node"\nentry = "server.js"\nlogin = ${config.login}\n`,
        );
      }
    }
    mkdirSync(path.join(webappsFolder(layout, SUPER_TENANT_ID), 'hub'), { recursive: true });
    writeFileSync(path.join(webappsFolder(layout, SUPER_TENANT_ID), 'hub', 'server.js'), '');
    writeFileSync(
      path.join(webappsFolder(layout, SUPER_TENANT_ID), 'hub', 'tessera-app.toml'),
      'runtime = "node"\nentry = "server.js"\n',
    );
    deployer = new Deployer({ layout, logger: captureLog().logger, hotDeploy: false });
    await deployer.start([SUPER_TENANT_ID, ACME]);

    upstream = await Upstream.start(scratch.dir);
    for (const [name, config] of Object.entries(CONFIGS)) {
      if (config) running.set(name, new TestApp(ACME, 'acme.com', name, config, upstream));
    }
    running.set('super:hub', new TestApp(SUPER_TENANT_ID, SUPER_TENANT_DOMAIN, 'hub', SUPER_HUB, upstream));
    running.get('down')?.setState('error');

    app = Fastify({ forceCloseConnections: true });
    // The admin API's JSON parsing must stay as it is.
    app.post('/api/v1/echo', async (request) => ({ parsed: request.body }));
    await app.register(webappsPlugin, {
      deployer,
      tenants,
      authenticate,
      nodeApps: {
        apps: directory,
        metrics,
      },
    });
    origin = await app.listen({ port: 0, host: '127.0.0.1' });
    front = new Pool(origin);
  });

  afterAll(async () => {
    await front?.close();
    await app?.close();
    for (const testApp of running.values()) await testApp.close();
    await upstream?.close();
    await deployer?.close();
    scratch.remove();
  });

  async function call(
    pathAndQuery: string,
    options: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) {
    const response = await front.request({
      path: pathAndQuery,
      method: (options.method ?? 'GET') as 'GET',
      headers: options.headers,
      body: options.body,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  }

  /** The status of an upgrade request written by hand, path as given. */
  async function rawUpgradeStatus(pathAndQuery: string, authorization?: string): Promise<number> {
    const { port } = new URL(origin);
    const socket = net.connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `GET ${pathAndQuery} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        (authorization ? `Authorization: ${authorization}\r\n` : '') +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    const [first] = (await once(socket, 'data')) as [Buffer];
    socket.destroy();
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(String(first))?.[1]);
  }

  it('forwards the path below the mount, query kept, with the forwarding and tenant headers', async () => {
    const { status, headers, text } = await call('/t/acme.com/shop/cart/a%20b?x=1&y=2', {
      headers: { host: 'shop.example', 'x-forwarded-for': '203.0.113.7' },
    });
    expect(status).toBe(200);
    expect(headers['content-security-policy']).toBe(WEBAPP_CSP);
    const seen = JSON.parse(text);
    expect(seen.url).toBe('/cart/a%20b?x=1&y=2');
    expect(seen.headers.host).toBe('shop.example');
    expect(seen.headers['x-forwarded-prefix']).toBe('/t/acme.com/shop');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen.headers['x-tessera-tenant']).toBe('acme.com');
    expect(seen.headers['x-request-id']).toMatch(/^req-/);
    expect(seen.headers['x-tessera-user']).toBeUndefined();
    expect(observed).toContainEqual(['acme.com', 'shop', 200]);
  });

  it('serves the super tenant’s node apps at /{app}/', async () => {
    const { status, text } = await call('/hub/status?full=1');
    expect(status).toBe(200);
    const seen = JSON.parse(text);
    expect(seen.url).toBe('/status?full=1');
    expect(seen.headers['x-forwarded-prefix']).toBe('/hub');
    expect(seen.headers['x-tessera-tenant']).toBe(SUPER_TENANT_DOMAIN);
    const moved = await call('/hub/redirect?to=%2Fhome');
    expect(moved.headers.location).toBe('/hub/home');
    expect(await rawUpgradeStatus('/hub/ws')).toBe(101);
    expect(upstream.last('/ws')?.headers['x-forwarded-prefix']).toBe('/hub');
  });

  it('redirects the mount alone to its folder, query kept, and answers 404 for unknown tenants and apps', async () => {
    const redirect = await call('/t/acme.com/shop?q=1');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/t/acme.com/shop/?q=1');
    expect((await call('/t/acme.com/nope/')).status).toBe(404);
    expect((await call('/t/globex.com/shop/')).status).toBe(404);
    expect((await call('/shop/')).status).toBe(404);
  });

  it('passes every method and the raw body through, while the admin API still parses JSON', async () => {
    const raw = '{"not": valid json';
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const { status, text } = await call('/t/acme.com/shop/items', {
        method,
        headers: { 'content-type': 'application/json' },
        body: raw,
      });
      expect(status).toBe(200);
      const seen = JSON.parse(text);
      expect(seen.method).toBe(method);
      expect(seen.body).toBe(raw);
      expect(seen.headers['content-type']).toBe('application/json');
    }
    const form = await call('/t/acme.com/shop/form', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=2',
    });
    expect(JSON.parse(form.text).body).toBe('a=1&b=2');
    const api = await call('/api/v1/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(JSON.parse(api.text)).toEqual({ parsed: { a: 1 } });
  });

  it('answers 405 with Allow to other methods than GET and HEAD on a static app', async () => {
    const refused = await call('/t/acme.com/pages/', { method: 'POST', body: 'x' });
    expect(refused.status).toBe(405);
    expect(refused.headers.allow).toBe('GET, HEAD');
    expect((await call('/t/acme.com/pages/')).text).toBe('static pages');
  });

  it('never lets the client speak for Tessera: X-Tessera-*, credentials and tessera cookies removed', async () => {
    const { text } = await call('/t/acme.com/shop/spoof', {
      headers: {
        'X-Tessera-User': 'admin',
        'x-tessera-roles': 'admin',
        'X-TESSERA-TENANT': 'globex.com',
        'x-tessera-key': 'guessed',
        'x-request-id': 'chosen',
        'x-forwarded-prefix': '/elsewhere',
        authorization: 'Bearer console-token',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        cookie: 'tessera_session=s1; theme=dark; TesseraConsole=x; cart=42',
        'x-kept': 'yes',
      },
    });
    const seen = JSON.parse(text);
    expect(seen.headers['x-tessera-user']).toBeUndefined();
    expect(seen.headers['x-tessera-roles']).toBeUndefined();
    expect(seen.headers['x-tessera-tenant']).toBe('acme.com');
    // The endpoint's key, not the client's (the real host removes it before the app runs).
    expect(seen.headers['x-tessera-key']).toBe('the-key');
    expect(seen.headers['x-request-id']).not.toBe('chosen');
    expect(seen.headers['x-forwarded-prefix']).toBe('/t/acme.com/shop');
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    expect(seen.headers.cookie).toBe('theme=dark; cart=42');
    expect(seen.headers['x-kept']).toBe('yes');
  });

  it('drops hop-by-hop headers and those the client’s Connection names', async () => {
    // node:http, not undici, which refuses to send these itself.
    const request = http.get(`${origin}/t/acme.com/shop/hop`, {
      headers: {
        connection: 'keep-alive, X-Private',
        'x-private': 'named by Connection',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-connection': 'keep-alive',
        upgrade: 'h2c',
        'x-kept': 'yes',
      },
    });
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    let text = '';
    for await (const chunk of response) text += String(chunk);
    const seen = JSON.parse(text);
    for (const name of ['x-private', 'keep-alive', 'te', 'proxy-connection', 'upgrade']) {
      expect(seen.headers[name], name).toBeUndefined();
    }
    expect(seen.headers.connection).toBe('keep-alive'); // undici's own, to the app
    expect(seen.headers['x-kept']).toBe('yes');
  });

  it('refuses paths that escape the app with 400, raw or percent-encoded, before the app sees them', async () => {
    const before = upstream.received.length;
    for (const bad of [
      '/t/acme.com/shop/../secure/',
      '/t/acme.com/shop/./x',
      '/t/acme.com/shop/%2e%2e/secure/',
      '/t/acme.com/shop/%2E/x',
      '/t/acme.com/shop/a%2fb',
      '/t/acme.com/shop/a%2F..%2Fb',
      '/t/acme.com/shop/a%5c..',
      '/t/acme.com/shop/a%00b',
    ]) {
      const { status, text } = await call(bad);
      expect(status, bad).toBe(400);
      expect(JSON.parse(text).error).toBe('BAD_REQUEST');
    }
    // Not even routed: Fastify's router refuses what it cannot decode.
    expect((await call('/t/acme.com/shop/%zz')).status).toBe(400);
    expect(upstream.received.length).toBe(before);
  });

  it('keeps repeated response headers, drops tessera cookies, adds the sandbox CSP beside the app’s', async () => {
    const { status, headers, text } = await call('/t/acme.com/shop/cookies');
    expect(status).toBe(200);
    expect(text).toBe('cookies');
    expect(headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
    expect(headers['x-app']).toEqual(['one', 'two']);
    expect(headers['content-security-policy']).toEqual(["default-src 'self'", WEBAPP_CSP]);
  });

  it('rewrites a redirect to an absolute path into the mount, and leaves the others', async () => {
    const cases: Array<[string, string]> = [
      ['/cart', '/t/acme.com/shop/cart'],
      ['/?a=1', '/t/acme.com/shop/?a=1'],
      ['/t/acme.com/shop/cart', '/t/acme.com/shop/cart'],
      ['/t/acme.com/shop', '/t/acme.com/shop'],
      ['/t/acme.com/shopping', '/t/acme.com/shop/t/acme.com/shopping'],
      ['//evil.example/x', '//evil.example/x'],
      ['https://elsewhere.example/', 'https://elsewhere.example/'],
      ['relative/path', 'relative/path'],
    ];
    for (const [to, expected] of cases) {
      const { status, headers } = await call(`/t/acme.com/shop/redirect?to=${encodeURIComponent(to)}`);
      expect(status).toBe(302);
      expect(headers.location, to).toBe(expected);
    }
  });

  it('answers HEAD with the head only', async () => {
    const head = await call('/t/acme.com/shop/fixed', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('11');
    expect(head.text).toBe('');
    expect(upstream.last('/fixed')?.method).toBe('HEAD');
    expect((await call('/t/acme.com/shop/fixed')).text).toBe('hello world');
  });

  it('streams server-sent events as they come, not buffered', async () => {
    const response = await front.request({ path: '/t/acme.com/shop/sse', method: 'GET' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const chunks = response.body[Symbol.asyncIterator]();
    const first = await chunks.next();
    // The second event is sent only now: the first arrived alone.
    expect(String(first.value)).toBe('data: one\n\n');
    upstream.events.emit('sse-next');
    let rest = '';
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) rest += String(next.value);
    expect(rest).toBe('data: two\n\n');
  });

  it('asks for sign-in with 401 and tells the app who the user is after a good one', async () => {
    const before = upstream.received.length;
    const none = await call('/t/acme.com/secure/');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="secure"');
    const wrong = await call('/t/acme.com/secure/', {
      headers: { authorization: basicAuthorization(['SECONDARY/alice', 'wrong']) },
    });
    expect(wrong.status).toBe(401);
    expect(upstream.received.length).toBe(before);

    const good = await call('/t/acme.com/secure/me', {
      headers: { authorization: basicAuthorization(['SECONDARY/alice', PASSWORD]), 'x-tessera-user': 'root' },
    });
    expect(good.status).toBe(200);
    expect(good.headers['cache-control']).toBe('private');
    const seen = JSON.parse(good.text);
    expect(seen.headers['x-tessera-user']).toBe('SECONDARY/alice');
    expect(seen.headers['x-tessera-store']).toBe('SECONDARY');
    expect(seen.headers['x-tessera-roles']).toBe('buyer,staff');
    expect(seen.headers.authorization).toBeUndefined();
    expect(observed).toContainEqual(['acme.com', 'secure', 401]);
  });

  it('answers a locked sign-in 429 with Retry-After, for a request and an upgrade, the app never asked', async () => {
    const before = upstream.received.length;
    signInAddresses.length = 0;
    const authorization = basicAuthorization(['mallory', 'any-password']);
    const locked = await call('/t/acme.com/secure/', { headers: { authorization } });
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBe('42');
    expect(JSON.parse(locked.text)).toEqual({
      error: 'TOO_MANY_ATTEMPTS',
      message: 'Too many failed logins: try again in 42 s.',
    });
    expect(await rawUpgradeStatus('/t/acme.com/secure/ws', authorization)).toBe(429);
    expect(upstream.received.length).toBe(before);
    // Both carried the client's address: the socket's peer.
    expect(signInAddresses).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it("answers a login refused with a reason (an expired password) with the API's status, for a request and an upgrade", async () => {
    const before = upstream.received.length;
    const authorization = basicAuthorization(['oscar', 'any-password']);
    const expired = await call('/t/acme.com/secure/', { headers: { authorization } });
    expect(expired.status).toBe(403);
    expect(expired.headers['retry-after']).toBeUndefined();
    expect(JSON.parse(expired.text)).toEqual({
      error: 'PASSWORD_EXPIRED',
      message: 'The password of oscar has expired.',
    });
    // An upgrade has no error handler to answer for it: the front writes the same status, not a reset socket.
    expect(await rawUpgradeStatus('/t/acme.com/secure/ws', authorization)).toBe(403);
    expect(upstream.received.length).toBe(before);
  });

  it('answers 503 with Retry-After while the app is not running, without its failure reason', async () => {
    const failed = await call('/t/acme.com/down/');
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBe('3');
    const body = JSON.parse(failed.text);
    expect(body).toMatchObject({ error: 'APP_UNAVAILABLE', state: 'error' });
    expect(body.message).toContain('failed');
    expect(failed.text).not.toContain('SyntaxError');

    const restarting = running.get('down') as TestApp;
    restarting.setState('restarting');
    restarting.retryAfter = 7;
    const later = await call('/t/acme.com/down/');
    expect(later.status).toBe(503);
    expect(later.headers['retry-after']).toBe('7');
    expect(JSON.parse(later.text).state).toBe('restarting');
    expect(observed).toContainEqual(['acme.com', 'down', 503]);
  });

  it('waits for a starting app to settle, then forwards', async () => {
    const waking = running.get('waking') as TestApp;
    waking.setState('starting');
    const waiting = once(waking.asked, 'settled');
    const pending = call('/t/acme.com/waking/hello');
    await waiting;
    waking.setState('running');
    const { status, text } = await pending;
    expect(status).toBe(200);
    expect(JSON.parse(text).url).toBe('/hello');
  });

  it('answers 504 when no response head comes within request_timeout_s, and aborts the app’s request', async () => {
    const started = performance.now();
    const closed = upstream.closed('/hang');
    const { status, text } = await call('/t/acme.com/slow/hang');
    const seconds = (performance.now() - started) / 1000;
    expect(status).toBe(504);
    expect(JSON.parse(text).error).toBe('APP_TIMEOUT');
    expect(seconds).toBeGreaterThan(0.9);
    expect(seconds).toBeLessThan(10);
    expect(await closed).toBe('/hang');
    expect(observed).toContainEqual(['acme.com', 'slow', 504]);
  });

  it('aborts the app’s request when the client goes away', async () => {
    const abort = new AbortController();
    const arrived = upstream.next('/hang-client');
    const closed = upstream.closed('/hang-client');
    const request = front
      .request({ path: '/t/acme.com/shop/hang-client', method: 'GET', signal: abort.signal })
      .catch((error: Error) => error);
    await arrived;
    abort.abort();
    expect(await request).toBeInstanceOf(Error);
    expect(await closed).toBe('/hang-client');
    expect(observed).toContainEqual(['acme.com', 'shop', 499]);
  });

  it('answers 503 past max_concurrent requests in flight, before forwarding', async () => {
    let held = upstream.next('/hold');
    const first = call('/t/acme.com/busy/hold');
    await held;
    held = upstream.next('/hold');
    const second = call('/t/acme.com/busy/hold');
    await held;
    const before = upstream.received.length;
    const third = await call('/t/acme.com/busy/hold');
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBe('1');
    expect(JSON.parse(third.text).error).toBe('APP_BUSY');
    expect(upstream.received.length).toBe(before);
    upstream.release();
    expect((await first).text).toBe('released');
    expect((await second).text).toBe('released');
    // Slots are given back: the next one goes through.
    const next = upstream.next('/hold');
    const fourth = call('/t/acme.com/busy/hold');
    await next;
    upstream.release();
    expect((await fourth).status).toBe(200);
  });

  it('answers 413 at once to a Content-Length over max_body_mb', async () => {
    const before = upstream.received.length;
    const { status, headers, text } = await call('/t/acme.com/small/upload', {
      method: 'POST',
      body: 'x'.repeat(SMALL_LIMIT + 1),
    });
    expect(status).toBe(413);
    expect(headers.connection).toBe('close');
    expect(JSON.parse(text).error).toBe('PAYLOAD_TOO_LARGE');
    expect(upstream.received.length).toBe(before);
    const fits = await call('/t/acme.com/small/echo', { method: 'POST', body: 'y'.repeat(SMALL_LIMIT) });
    expect(JSON.parse(fits.text).body).toHaveLength(SMALL_LIMIT);
  });

  it('cuts a chunked body with 413 when it passes max_body_mb, aborting the app’s request', async () => {
    const { port } = new URL(origin);
    const arrived = upstream.next('/upload');
    const closed = upstream.closed('/upload');
    const request = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/t/acme.com/small/upload',
      headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' },
    });
    request.on('error', () => {}); // the front closes the connection after its answer
    const response = once(request, 'response') as Promise<[http.IncomingMessage]>;
    let answered = false;
    void response.then(() => {
      answered = true;
    });
    let sent = 0;
    const chunk = Buffer.alloc(1024, 'z');
    const pump = () => {
      if (answered || sent > 100 * SMALL_LIMIT) return;
      sent += chunk.length;
      request.write(chunk, () => setImmediate(pump));
    };
    pump();
    const [res] = await response;
    expect(res.statusCode).toBe(413);
    expect(sent).toBeGreaterThan(SMALL_LIMIT);
    await arrived;
    expect(await closed).toBe('/upload');
    request.destroy();
  });

  it('answers 502 when the app drops the connection before answering, and cuts the client after', async () => {
    const early = await call('/t/acme.com/shop/die-early');
    expect(early.status).toBe(502);
    expect(JSON.parse(early.text).error).toBe('APP_FAILED');

    const response = await front.request({ path: '/t/acme.com/shop/die-mid', method: 'GET' });
    expect(response.statusCode).toBe(200);
    await expect(response.body.text()).rejects.toThrow();
    // The front is still fine.
    expect((await call('/t/acme.com/shop/after')).status).toBe(200);
  });

  it('tunnels WebSocket upgrades to a node app, with the same decision and headers', async () => {
    const wsOrigin = origin.replace('http:', 'ws:');
    const socket = new WebSocket(`${wsOrigin}/t/acme.com/shop/ws?room=1`, {
      headers: { 'x-tessera-user': 'mallory', cookie: 'tessera_s=1; a=2' },
    });
    await once(socket, 'open');
    socket.send('hi');
    const [message] = await once(socket, 'message');
    expect(String(message)).toBe('echo:hi');
    socket.close();
    await once(socket, 'close');
    const seen = upstream.last('/ws');
    expect(seen?.url).toBe('/ws?room=1');
    expect(seen?.headers['x-tessera-tenant']).toBe('acme.com');
    expect(seen?.headers['x-tessera-user']).toBeUndefined();
    expect(seen?.headers['x-forwarded-prefix']).toBe('/t/acme.com/shop');
    expect(seen?.headers.cookie).toBe('a=2');

    const secure = new WebSocket(`${wsOrigin}/t/acme.com/secure/ws`, {
      headers: { authorization: basicAuthorization(['SECONDARY/alice', PASSWORD]) },
    });
    await once(secure, 'open');
    expect(upstream.last('/ws')?.headers['x-tessera-user']).toBe('SECONDARY/alice');
    expect(upstream.last('/ws')?.headers.authorization).toBeUndefined();
    secure.close();
  });

  it('answers other upgrades as plain requests, as before node apps (curl --http2 sends Upgrade: h2c)', async () => {
    const { port } = new URL(origin);
    const socket = net.connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'GET /t/acme.com/pages/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n' +
        'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n',
    );
    let text = '';
    for await (const chunk of socket) text += String(chunk);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/connection: close/i);
    expect(text.endsWith('static pages')).toBe(true);
    const post = net.connect(Number(port), '127.0.0.1');
    await once(post, 'connect');
    post.write(
      'POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n' +
        'Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}',
    );
    let refused = '';
    for await (const chunk of post) refused += String(chunk);
    expect(refused).toMatch(/^HTTP\/1\.1 404 /);
  });

  it('refuses upgrades it cannot forward with a plain HTTP answer', async () => {
    const wsOrigin = origin.replace('http:', 'ws:');
    const statusOf = async (url: string): Promise<number> => {
      const socket = new WebSocket(url);
      const [, response] = (await once(socket, 'unexpected-response')) as [unknown, http.IncomingMessage];
      response.destroy();
      return response.statusCode ?? 0;
    };
    // Anything but a node app answers an upgrade as the plain request it is (as before node apps).
    expect(await statusOf(`${wsOrigin}/t/acme.com/pages/`)).toBe(200); // static
    expect(await statusOf(`${wsOrigin}/t/acme.com/nope/`)).toBe(404);
    expect(await statusOf(`${wsOrigin}/t/acme.com/secure/ws`)).toBe(401);
    expect(await statusOf(`${wsOrigin}/t/acme.com/down/ws`)).toBe(503);
    // Raw: a WebSocket client's URL parser would resolve the dots itself.
    expect(await rawUpgradeStatus('/t/acme.com/shop/%2e%2e/secure/ws')).toBe(400);
    expect(await rawUpgradeStatus('/t/acme.com/shop/../secure/ws')).toBe(400);
    expect(await rawUpgradeStatus('/t/acme.com/shop/ws')).toBe(101);
    expect(await rawUpgradeStatus('/t/acme.com/shop/ws-die')).toBe(502);
    const started = performance.now();
    expect(await rawUpgradeStatus('/t/acme.com/slow/ws-hang')).toBe(504);
    expect(performance.now() - started).toBeGreaterThan(900);
  });
});
