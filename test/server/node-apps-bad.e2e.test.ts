import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { buildZip, eventually } from '../webapps/helpers.js';
import {
  ACME,
  appHostPids,
  appListing,
  jsonOf,
  metricSample,
  pollInBackground,
  processAlive,
  SUPER,
  uploadApp,
  uploadFiles,
  waitForApp,
} from './node-apps-helpers.js';

/**
 * Issue 16 end to end, the apps that go wrong (SQLite: the runtime does not touch the database): each is
 * contained, reported in its status, restarted when it should be, while the admin API and a healthy app
 * keep answering throughout.
 */

const GLOBEX: [string, string] = ['admin@globex.com', 'globex-admin-pw'];
const TIMEOUT_2S = '[limits]\nrequest_timeout_s = 2';

/** The misbehaving apps, all deployed at once. */
const BAD_APPS: Record<string, Record<string, string>> = {
  neither: {
    'tessera-app.toml': `entry = "server.mjs"\n${TIMEOUT_2S}`,
    'server.mjs': 'export default 42;',
  },
  syntax: {
    'tessera-app.toml': `entry = "server.mjs"\n${TIMEOUT_2S}`,
    'server.mjs': 'export default { fetch( };',
  },
  // An uncaught error in a timer crashes each run shortly after it starts; its requests throw meanwhile.
  crashing: {
    'tessera-app.toml': `entry = "server.mjs"\n${TIMEOUT_2S}`,
    'server.mjs': `
      setTimeout(() => { throw new Error('crash-loop boom'); }, 300);
      export default { fetch() { throw new Error('handler fails'); } };`,
  },
  looping: {
    'tessera-app.toml': `entry = "server.mjs"\n${TIMEOUT_2S}`,
    'server.mjs': `export default { fetch(request) {
      if (new URL(request.url).pathname === '/spin') for (;;) {}
      return Response.json({ pid: process.pid });
    } };`,
  },
  hungry: {
    // A generous timeout: on a loaded machine V8's last-resort collections before the heap abort take seconds,
    // and the test is about the memory limit (a 504 would hide the 502 it expects).
    'tessera-app.toml': `entry = "server.mjs"\n[limits]\nrequest_timeout_s = 20\nmemory_mb = 32`,
    'server.mjs': `const kept = [];
      export default { fetch(request) {
        if (new URL(request.url).pathname === '/grow') for (;;) kept.push(new Array(1e6).fill(kept.length + 0.5));
        return new Response('fine');
      } };`,
  },
  // Reads the file it is asked for, and says how that went.
  snoop: {
    'tessera-app.toml': `entry = "server.cjs"\n${TIMEOUT_2S}`,
    'server.cjs': `const fs = require('node:fs');
      module.exports = (req, res) => {
        const file = new URL(req.url, 'http://app').searchParams.get('file');
        let body;
        try { body = { content: fs.readFileSync(file, 'utf8') }; } catch (error) { body = { code: error.code }; }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };`,
  },
  silent: {
    'tessera-app.toml': `entry = "server.mjs"\n${TIMEOUT_2S}`,
    'server.mjs': 'export default { fetch: () => new Promise(() => {}) };',
  },
};

const HEALTHY = {
  'tessera-app.toml': `entry = "server.mjs"\n${TIMEOUT_2S}\nmax_body_mb = 1`,
  'server.mjs':
    'export default { fetch: async (request) => new Response("healthy " + (await request.text()).length) };',
};

/** A GET with the path sent exactly as written (fetch would resolve the dot segments first). */
function rawGet(url: string, rawPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { path: rawPath }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
  });
}

/** The first file called `name` below `dir`. */
function findFile(dir: string, name: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return full;
    if (entry.isDirectory()) {
      const found = findFile(full, name);
      if (found) return found;
    }
  }
  return undefined;
}

describe('bad node apps on one server', () => {
  let t: TestServer;
  let stopped = false;
  let background: { stop(): Promise<number[]> };
  const app = (name: string, rest = '') => `${t.server.url}/t/acme.com/${name}${rest}`;
  const uploads: Record<string, Awaited<ReturnType<typeof uploadFiles>>> = {};

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    for (const [domain, admin] of [
      ['acme.com', ACME],
      ['globex.com', GLOBEX],
    ] as const) {
      const created = await t.call('POST', '/api/v1/tenants', {
        as: SUPER,
        body: { domain, adminPassword: admin[1] },
      });
      expect(created.status).toBe(201);
    }
    expect((await uploadFiles(t, 'healthy', HEALTHY)).body.status.state).toBe('running');
    const secret = await uploadApp(
      t,
      GLOBEX,
      'globex.com',
      'secret',
      await buildZip({ 'index.html': 'globex only' }),
    );
    expect(secret.status).toBe(201);

    // From here on, the admin API and the healthy app must answer every time.
    const probes = [
      async () => (await t.call('GET', '/api/v1/tenants', { as: SUPER })).status,
      async () => {
        const response = await fetch(app('healthy', '/'));
        const text = await response.text();
        return text === 'healthy 0' ? response.status : -response.status;
      },
    ];
    background = pollInBackground(async () => {
      const [api, healthy] = await Promise.all(probes.map((probe) => probe()));
      return api === 200 && healthy === 200 ? 200 : Math.min(api ?? 0, healthy ?? 0);
    });

    const names = Object.keys(BAD_APPS);
    const replies = await Promise.all(names.map((name) => uploadFiles(t, name, BAD_APPS[name] ?? {})));
    names.forEach((name, i) => {
      uploads[name] = replies[i] as (typeof uploads)[string];
    });
  }, 60_000);
  afterAll(async () => {
    await background?.stop();
    if (!stopped) await t?.stop();
  });

  it('refuses an upload whose entry does not exist, saying so', async () => {
    const refused = await uploadFiles(t, 'missing', {
      'tessera-app.toml': 'entry = "server.js"',
      'index.js': 'export default {}',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe('tessera-app.toml: entry "server.js" does not exist in the app');
  });

  it('reports an entry of neither form and a syntax error as errors with the reason, answering 503', async () => {
    for (const name of Object.keys(BAD_APPS)) expect(uploads[name]?.status, name).toBe(201);
    expect(uploads.neither?.body.status).toMatchObject({ state: 'error' });
    const neither = uploads.neither?.body.status.reason as string;
    expect(neither).toContain('exports a number (42) as its default');
    for (const form of ['fetch(request, env, ctx)', 'request listener', 'node:http Server']) {
      expect(neither).toContain(form);
    }
    expect(uploads.syntax?.body.status).toMatchObject({
      state: 'error',
      reason: expect.stringContaining('SyntaxError'),
    });
    const down = await fetch(app('syntax', '/'));
    expect(down.status).toBe(503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers 504 to a request that blocks the event loop, restarts the process, and serves again', async () => {
    const { pid } = await jsonOf(fetch(app('looping', '/')));
    const started = Date.now();
    const spun = await fetch(app('looping', '/spin'));
    const elapsed = Date.now() - started;
    expect(spun.status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(8000);
    await eventually(() => !processAlive(pid), 10_000);
    const listing = await waitForApp(
      t,
      'looping',
      (a) => a.status.state === 'running' && a.status.restarts >= 1,
    );
    expect(listing.status.restarts).toBe(1);
    const again = await fetch(app('looping', '/'));
    expect(again.status).toBe(200);
    expect((await jsonOf(again)).pid).not.toBe(pid);
  });

  it('restarts an app past memory_mb, with the memory limit as the reason', async () => {
    const grown = await fetch(app('hungry', '/grow'));
    expect(grown.status).toBe(502);
    // The reason shows while it waits for its restart (1 s), then the restart clears it.
    const restarting = await waitForApp(
      t,
      'hungry',
      (a) => a.status.restarts >= 1 || a.status.reason !== undefined,
    );
    // The supervisor's note in the app's log says why the process went.
    const logFile = path.join(t.home, 'logs', 'apps', 'acme.com', 'hungry.log');
    await eventually(() => readFileSync(logFile, 'utf8').includes('memory limit of 32 MiB exceeded'), 10_000);
    if (restarting.status.reason !== undefined) {
      expect(restarting.status.reason).toBe('memory limit of 32 MiB exceeded');
    }
    await waitForApp(t, 'hungry', (a) => a.status.state === 'running' && a.status.restarts === 1);
    expect(await (await fetch(app('hungry', '/'))).text()).toBe('fine');
  });

  it('denies reading the server config and another tenant’s app folder (ERR_ACCESS_DENIED)', async () => {
    const read = (file: string) => jsonOf(fetch(app('snoop', `/?file=${encodeURIComponent(file)}`)));
    // Its own folder is readable: the handler works.
    expect((await read('tessera-app.toml')).content).toContain('entry = "server.cjs"');
    expect(await read('../../conf/tessera.toml')).toEqual({ code: 'ERR_ACCESS_DENIED' });
    expect(await read(path.join(t.home, 'conf', 'tessera.toml'))).toEqual({ code: 'ERR_ACCESS_DENIED' });
    const globexId = (await t.call('GET', '/api/v1/tenants/globex.com', { as: SUPER })).body.id;
    // Its zip in the tenant's folder, and the files Tessera extracted from it.
    const zip = path.join(t.home, 'repository', 'tenants', String(globexId), 'webapps', 'secret.zip');
    expect(readFileSync(zip).length).toBeGreaterThan(0);
    expect(await read(zip)).toEqual({ code: 'ERR_ACCESS_DENIED' });
    const extracted = findFile(path.join(t.home, 'work', 'webapps', String(globexId)), 'index.html');
    expect(readFileSync(extracted as string, 'utf8')).toBe('globex only');
    expect(await read(extracted as string)).toEqual({ code: 'ERR_ACCESS_DENIED' });
  });

  it('refuses a path escaping the mount (400) and a body over max_body_mb (413)', async () => {
    expect((await fetch(app('healthy', '/..%2f..%2fglobex.com%2fsecret%2findex.html'))).status).toBe(400);
    expect(await rawGet(t.server.url, '/t/acme.com/healthy/a/../../../api/v1/tenants')).toBe(400);
    const big = await fetch(app('healthy', '/'), { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024, 1) });
    expect(big.status).toBe(413);
    const small = await fetch(app('healthy', '/'), { method: 'POST', body: Buffer.alloc(1000, 1) });
    expect(await small.text()).toBe('healthy 1000');
  });

  it('answers 504 after the timeout to a request the app never answers, without restarting it', async () => {
    const started = Date.now();
    const response = await fetch(app('silent', '/'));
    expect(response.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    const listing = await appListing(t, 'silent');
    expect(listing.status).toMatchObject({ state: 'running', restarts: 0 });
  });

  it('puts a crash loop in error with its reason, counting the restarts in the API and /metrics', async () => {
    const listing = await waitForApp(t, 'crashing', (a) => a.status.state === 'error', 30_000);
    expect(listing.status.reason).toMatch(
      /^crashed [3-9] times without a stable run: .*Error: crash-loop boom/s,
    );
    expect(listing.status.restarts).toBeGreaterThanOrEqual(2);
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    const restarts = metricSample(metrics, 'tessera_app_restarts_total', {
      tenant: 'acme.com',
      app: 'crashing',
    });
    expect(restarts).toBeGreaterThanOrEqual(2);
    expect(metricSample(metrics, 'tessera_app_restarts_total', { tenant: 'acme.com', app: 'looping' })).toBe(
      1,
    );
  });

  it('kept the admin API and the healthy app answering 200 throughout, and leaves no process after stop', async () => {
    const statuses = await background.stop();
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);

    const hosts = appHostPids();
    expect(hosts.length).toBeGreaterThanOrEqual(5);
    stopped = true;
    await t.stop();
    expect(hosts.filter(processAlive)).toEqual([]);
    expect(appHostPids()).toEqual([]);
  });
});
