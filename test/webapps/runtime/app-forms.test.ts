import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { appLogFile } from '../../../src/webapps/runtime/app-log.js';
import { alive, call, REQUEST_ID_HEADER, runtimeFixtures, TENANT_DOMAIN, waitFor } from './helpers.js';

const fixture = runtimeFixtures();

const FETCH_APP = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/echo') {
      // The body streams through: the Response is built from the request's stream, not a buffered copy.
      return new Response(request.body, { headers: { 'content-type': request.headers.get('content-type') ?? '' } });
    }
    if (url.pathname === '/cookies') {
      const headers = new Headers();
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/');
      return new Response('two cookies', { headers });
    }
    if (url.pathname === '/log') {
      console.log('inside a request');
      console.error('an error line\\nand its second line');
      return new Response('logged');
    }
    return Response.json({
      env,
      path: url.pathname + url.search,
      host: request.headers.get('host'),
      key: request.headers.get('x-tessera-key'),
      secret: process.env.TESSERA_TEST_SECRET ?? null,
      nodeEnv: process.env.NODE_ENV,
      nodeOptions: process.env.NODE_OPTIONS ?? null,
    });
  },
};
console.log('loaded outside any request');
`;

describe('the three forms of an entry', () => {
  it('serves a fetch handler (ESM): streamed body, env, TESSERA_*, repeated Set-Cookie, request ids in the log', async () => {
    process.env.TESSERA_TEST_SECRET = 'admin-password-of-tessera';
    const { runtime, logsFolder, app } = await fixture();
    const shop = await runtime.start(
      app({
        name: 'shop',
        files: { 'server.mjs': FETCH_APP },
        entry: 'server.mjs',
        env: { GREETING: 'hello', NODE_OPTIONS: '--allow-child-process' },
      }),
    );
    expect((await shop.settled()).state).toBe('running');

    const info = await call(shop, '/info?x=1');
    expect(info.status).toBe(200);
    const body = JSON.parse(info.text) as Record<string, unknown>;
    expect(body.env).toEqual({
      GREETING: 'hello',
      TESSERA_TENANT: TENANT_DOMAIN,
      TESSERA_APP: 'shop',
      TESSERA_APP_VERSION: '1.0.0',
      TESSERA_DATA_DIR: expect.stringMatching(/data\/shop$/),
    });
    expect(body.path).toBe('/info?x=1');
    expect(body.host).toBe('shop.example');
    expect(body.key).toBeNull(); // removed before the app sees the request
    expect(body.secret).toBeNull(); // Tessera's environment never reaches the app
    expect(body.nodeEnv).toBe('production');
    expect(body.nodeOptions).toBeNull(); // [env] cannot lift the permission model

    async function* chunks(): AsyncIterable<Buffer> {
      for (let i = 0; i < 50; i++) yield Buffer.from(`chunk ${i};`.repeat(1000));
    }
    const echo = await call(shop, '/echo', {
      method: 'POST',
      body: chunks(),
      headers: { 'content-type': 'text/plain' },
    });
    expect(echo.status).toBe(200);
    expect(echo.text.length).toBe(
      Array.from({ length: 50 }, (_, i) => `chunk ${i};`.repeat(1000)).join('').length,
    );
    expect(echo.text.startsWith('chunk 0;')).toBe(true);
    expect(echo.text.endsWith('chunk 49;')).toBe(true);

    const cookies = await call(shop, '/cookies');
    expect(cookies.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);

    const logged = await call(shop, '/log', { headers: { [REQUEST_ID_HEADER]: 'req-7' } });
    expect(logged.text).toBe('logged');
    const file = appLogFile(logsFolder, TENANT_DOMAIN, 'shop');
    const lines = await waitFor('the request lines in the log', () => {
      const text = readFileSync(file, 'utf8');
      return text.includes('and its second line') ? text.split('\n') : undefined;
    });
    const ts = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${ts} stdout loaded outside any request$`)),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${ts} stdout \\[req-7\\] inside a request$`)),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${ts} stderr \\[req-7\\] an error line$`)),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${ts} stderr \\[req-7\\] and its second line$`)),
    );
    expect(readFileSync(file).length).toBeGreaterThan(0);
    delete process.env.TESSERA_TEST_SECRET;
  });

  it('serves a request listener (CommonJS) and refuses a request without the key', async () => {
    const { runtime, app } = await fixture();
    const listener = await runtime.start(
      app({
        name: 'listener',
        files: {
          'server.js': `let calls = 0;
module.exports = (req, res) => {
  calls += 1;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ calls, url: req.url, key: req.headers['x-tessera-key'] ?? null }));
};`,
        },
      }),
    );
    expect((await listener.settled()).state).toBe('running');
    const endpoint = listener.endpoint();
    if (!endpoint) throw new Error('no endpoint');

    // Straight to the socket, as another local process could: no key, then a wrong key of the right length.
    const { Client } = await import('undici');
    const intruder = new Client('http://app', { socketPath: endpoint.socketPath });
    const bare = await intruder.request({ path: '/steal', method: 'GET' });
    expect(bare.statusCode).toBe(403);
    await bare.body.text();
    const wrong = await intruder.request({
      path: '/steal',
      method: 'GET',
      headers: { 'x-tessera-key': 'f'.repeat(endpoint.key.length) },
    });
    expect(wrong.statusCode).toBe(403);
    await wrong.body.text();
    await intruder.close();

    const answer = await call(listener, '/a/b?c=d');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ calls: 1, url: '/a/b?c=d', key: null }); // the refused never reached it
  });

  it('serves an http.Server that was not listening, with its upgrade listener', async () => {
    const { runtime, app } = await fixture();
    const server = await runtime.start(
      app({
        name: 'server',
        files: {
          'server.mjs': `import http from 'node:http';
const server = http.createServer((req, res) => res.end('from the server ' + req.url));
server.on('upgrade', (req, socket) => {
  socket.end('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\nX-Path: ' + req.url + '\\r\\n\\r\\n');
});
export default server;`,
        },
        entry: 'server.mjs',
      }),
    );
    expect((await server.settled()).state).toBe('running');
    const answer = await call(server, '/hello');
    expect(answer).toMatchObject({ status: 200, text: 'from the server /hello' });

    const endpoint = server.endpoint();
    if (!endpoint) throw new Error('no endpoint');
    const upgraded = await endpoint.pool.upgrade({
      path: '/ws',
      protocol: 'echo',
      headers: { 'x-tessera-key': endpoint.key },
    });
    expect(upgraded.headers['x-path']).toBe('/ws');
    upgraded.socket.destroy();

    const { Client } = await import('undici');
    const intruder = new Client('http://app', { socketPath: endpoint.socketPath });
    await expect(intruder.upgrade({ path: '/ws', protocol: 'echo' })).rejects.toThrow();
    await intruder.close();
  });

  it('ends the process when the runtime closes', async () => {
    const { runtime, app } = await fixture();
    const hello = await runtime.start(
      app({ name: 'hello', files: { 'server.js': `module.exports = (req, res) => res.end('hello');` } }),
    );
    const status = await hello.settled();
    expect(status.state).toBe('running');
    const pid = status.pid;
    if (pid === undefined) throw new Error('no pid');
    expect(alive(pid)).toBe(true);
    const rss = await waitFor('a heartbeat', () => hello.status().memoryBytes);
    console.log(`idle RSS of a hello-world app: ${(rss / 1024 / 1024).toFixed(1)} MiB`);
    await runtime.close();
    expect(alive(pid)).toBe(false);
    expect(hello.status().state).toBe('stopped');
  });
});

describe('the runtime', () => {
  it('replaces a running app of the same tenant and name', async () => {
    const { runtime, app } = await fixture();
    const v1 = await runtime.start(
      app({ name: 'site', files: { 'server.js': `module.exports = (q, s) => s.end('v1');` } }),
    );
    const old = await v1.settled();
    const v2 = await runtime.start(
      app({ name: 'site', files: { 'server.js': `module.exports = (q, s) => s.end('v2');` } }),
    );
    expect((await v2.settled()).state).toBe('running');
    await runtime.switched(1, 'site');
    // The old version drains (nothing in flight here), then stops: see app-redeploy.test.ts.
    await waitFor('the old version to stop', () => v1.status().state === 'stopped' && !alive(old.pid ?? 0));
    expect(runtime.get(1, 'site')).toBe(v2);
    expect(runtime.list()).toEqual([v2]);
    expect((await call(v2, '/')).text).toBe('v2');
  });
});
