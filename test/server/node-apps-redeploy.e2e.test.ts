import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchFolder } from '../helpers/databases.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { eventually } from '../webapps/helpers.js';
import {
  ACME,
  type AppListing,
  appHostPids,
  appListing,
  processAlive,
  SUPER,
  uploadFiles,
  waitForApp,
} from './node-apps-helpers.js';

/**
 * Issue 13, first slice, end to end on one node: apps redeployed through the admin API while clients keep
 * calling them. The new version starts beside the old one and takes the requests once its health path
 * answers; the old one finishes what it has in flight and goes. No database is involved in a switch, so
 * these run on SQLite only.
 */

/** Answers its label, version and pid; `/slow` after 1.5 s; healthy `HEALTHY_AFTER_MS` after it loaded. */
const VERSIONED_APP = `
const loadedAt = Date.now();
const healthyAfter = Number(process.env.HEALTHY_AFTER_MS ?? '0');
export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/healthz') {
      return new Response(null, { status: Date.now() - loadedAt >= healthyAfter ? 200 : 503 });
    }
    if (url.pathname === '/slow') await new Promise((resolve) => setTimeout(resolve, 1500));
    return Response.json({
      label: process.env.LABEL,
      version: process.env.TESSERA_APP_VERSION,
      pid: process.pid,
    });
  },
};
`;

function version(label: string, healthyAfterMs = 0): Record<string, string> {
  return {
    'tessera-app.toml': [
      'entry = "server.mjs"',
      'health = "/healthz"',
      '[env]',
      `LABEL = "${label}"`,
      `HEALTHY_AFTER_MS = "${healthyAfterMs}"`,
      '[limits]',
      'memory_mb = 64',
    ].join('\n'),
    'server.mjs': VERSIONED_APP,
  };
}

const BROKEN = {
  'tessera-app.toml': 'entry = "server.mjs"\nhealth = "/healthz"',
  'server.mjs': `throw new Error('this version is broken at import');`,
};

/** An unstarted `node:http` Server whose upgrades answer 101 and echo each chunk prefixed with its label. */
function echoVersion(label: string): Record<string, string> {
  return {
    'tessera-app.toml': 'entry = "server.mjs"\n[limits]\nmemory_mb = 64\nrequest_timeout_s = 3',
    'server.mjs': `
import http from 'node:http';
const server = http.createServer((req, res) => res.end('${label}'));
server.on('upgrade', (req, socket) => {
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n');
  socket.on('data', (chunk) => socket.write('${label}:' + chunk));
});
export default server;
`,
  };
}

/** Writes `text` on the tunnel and reads what comes back. */
async function echoed(socket: net.Socket, text: string): Promise<string> {
  socket.write(text);
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  return chunk.toString();
}

interface Seen {
  status: number;
  label: string;
  at: number;
}

/** `clients` loops calling `url` until `stop()`; every answer's status and label, per client, in order. */
function steadyLoad(url: string, clients: number): { stop(): Promise<Seen[][]> } {
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    const seen: Seen[] = [];
    while (running) {
      try {
        const response = await fetch(url);
        const text = await response.text();
        const label = response.status === 200 ? (JSON.parse(text) as { label: string }).label : text;
        seen.push({ status: response.status, label, at: performance.now() });
      } catch (error) {
        seen.push({ status: -1, label: String(error), at: performance.now() });
      }
    }
    return seen;
  });
  return {
    async stop() {
      running = false;
      return Promise.all(loops);
    },
  };
}

/** The run copies of an app in the home (`work/apps/<tenant>/<app>/<n>`). */
function runCopies(home: string, tenantId: number, app: string): string[] {
  const folder = path.join(home, 'work', 'apps', String(tenantId), app);
  return existsSync(folder) ? readdirSync(folder) : [];
}

describe('redeploying a node app without a failed request', () => {
  let t: TestServer;
  let tenantId: number;
  let sockets: string;
  const tmp = scratchFolder('redeploy-tmp');
  const previousTmp = process.env.TMPDIR;
  const base = () => `${t.server.url}/t/acme.com`;

  /** The app's sockets: the runtime's socket folder is the only tessera-apps-* in this test's TMPDIR. */
  const socketFiles = () => {
    const folders = readdirSync(tmp.dir).filter((name) => name.startsWith('tessera-apps-'));
    return folders.flatMap((folder) => readdirSync(path.join(tmp.dir, folder)));
  };

  beforeAll(async () => {
    // The runtime makes its socket folder in os.tmpdir(): here, a folder only this test uses.
    process.env.TMPDIR = tmp.dir;
    t = await startTestServer('sqlite');
    const acme = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: ACME[1] },
    });
    expect(acme.status).toBe(201);
    tenantId = acme.body.id;
    sockets = tmp.dir;
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    if (previousTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmp;
    tmp.remove();
  });

  /** After a redeploy settles: one process, one socket and one run copy for each app deployed. */
  async function nothingLeftBehind(apps: number): Promise<void> {
    await eventually(() => appHostPids().length === apps && socketFiles().length === apps, 10_000).catch(
      () => {
        throw new Error(`left behind: pids ${appHostPids()}, sockets ${socketFiles()} (in ${sockets})`);
      },
    );
  }

  it('answers every request of a steady load 200 through 5 redeploys, switching versions forward only', async () => {
    const first = await uploadFiles(t, 'load', version('v0'));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.status).toMatchObject({ state: 'running' });

    const load = steadyLoad(`${base()}/load/`, 8);
    const deploys: Array<{ label: string; asked: number; answered: number }> = [];
    for (let n = 1; n <= 5; n++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const label = `v${n}`;
      const asked = performance.now();
      const uploaded = await uploadFiles(t, 'load', version(label));
      deploys.push({ label, asked, answered: performance.now() });
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      // The upload answers once the new version serves: the status says so, and the next request gets it.
      expect(uploaded.body.status).toMatchObject({ state: 'running', version: uploaded.body.version });
      expect(uploaded.body.status.next).toBeUndefined();
      const next = (await (await fetch(`${base()}/load/`)).json()) as { label: string };
      expect(next.label).toBe(label);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const perClient = await load.stop();
    // The time from the deploy call to the upload's answer, and to the first answer of the new version
    // one of the load's clients got.
    const firstSeen = (label: string) =>
      Math.min(...perClient.flat().flatMap((seen) => (seen.label === label ? [seen.at] : [])));
    const figures = deploys.map((d) => ({
      label: d.label,
      answerMs: Math.round(d.answered - d.asked),
      servingMs: Math.round(firstSeen(d.label) - d.asked),
    }));
    console.log(`redeploys under load (${perClient.flat().length} requests): ${JSON.stringify(figures)}`);

    const all = perClient.flat();
    expect(all.length).toBeGreaterThan(200);
    const failed = all.filter((seen) => seen.status !== 200);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    // Each client sees the versions in deploy order, never an older one after a newer one.
    const order = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5'];
    for (const seen of perClient) {
      const indexes = seen.map((s) => order.indexOf(s.label));
      expect(indexes.every((index) => index >= 0)).toBe(true);
      for (let i = 1; i < indexes.length; i++) {
        expect(indexes[i] ?? 0).toBeGreaterThanOrEqual(indexes[i - 1] ?? 0);
      }
    }
    // The load saw more than the first and the last version: it ran through the switches.
    expect(new Set(all.map((s) => s.label)).size).toBeGreaterThanOrEqual(3);
    expect(all.at(-1)?.label).toBe('v5');
    await nothingLeftBehind(1);
    await eventually(() => runCopies(t.home, tenantId, 'load').length === 1, 10_000);
  }, 120_000);

  it('lets a slow request started before a redeploy finish with the old version, then stops that version', async () => {
    const before = (await (await fetch(`${base()}/load/`)).json()) as { pid: number };
    const slow = fetch(`${base()}/load/slow`).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as { label: string; pid: number },
    }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const uploaded = await uploadFiles(t, 'load', version('v6'));
    expect(uploaded.status).toBe(201);
    expect(uploaded.body.status).toMatchObject({ state: 'running', version: uploaded.body.version });
    expect(((await (await fetch(`${base()}/load/`)).json()) as { label: string }).label).toBe('v6');
    // The old process still finishes the slow request it had.
    expect(processAlive(before.pid)).toBe(true);
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ label: 'v5', pid: before.pid });
    await eventually(() => !processAlive(before.pid), 10_000);
    await nothingLeftBehind(1);
  });

  it('keeps the old version serving when the new one throws at import, and reports the failure', async () => {
    const serving = await appListing(t, 'load');
    const load = steadyLoad(`${base()}/load/`, 4);
    const uploaded = await uploadFiles(t, 'load', BROKEN);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const seen = (await load.stop()).flat();

    // The upload answers with the failure: the version serving is still the old one, and it is the
    // cluster's current version again (so no other node, and no restart, runs the broken one).
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    const brokenVersion = String(Number(serving.status.version) + 1);
    expect(uploaded.body).toMatchObject({ version: serving.status.version });
    expect(uploaded.body.status).toMatchObject({
      state: 'running',
      version: serving.status.version,
      failed: { version: brokenVersion },
    });
    const versions = await t.call('GET', '/api/v1/tenants/acme.com/webapps/load/versions', { as: ACME });
    expect(versions.body.current).toBe(Number(serving.status.version));
    expect(versions.body.versions[0]).toMatchObject({
      version: Number(brokenVersion),
      current: false,
      failure: expect.stringMatching(/broken at import/),
    });
    expect(uploaded.body.status.failed.reason).toMatch(/this version is broken at import/);
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    expect(new Set(seen.map((s) => s.label))).toEqual(new Set(['v6']));
    const listed: AppListing = await appListing(t, 'load');
    expect(listed.status).toMatchObject({ state: 'running', version: serving.status.version });
    expect(listed.status.failed.reason).toMatch(/broken at import/);
    const log = await import('node:fs').then((fs) =>
      fs.readFileSync(path.join(t.home, 'logs', 'tessera.log'), 'utf8'),
    );
    expect(log).toContain('new app version failed to start: the old version keeps serving');
    // Still serving a while later: the broken version is not retried behind its back.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await fetch(`${base()}/load/`)).status).toBe(200);
    await nothingLeftBehind(1);
    expect(runCopies(t.home, tenantId, 'load')).toHaveLength(1);

    // A later good deploy replaces the old one as usual, and the failure is no longer shown.
    const good = await uploadFiles(t, 'load', version('v7'));
    expect(good.body.status).toMatchObject({ state: 'running', version: good.body.version });
    expect(good.body.status.failed).toBeUndefined();
  }, 60_000);

  it('ends a redeploy during a redeploy with the newest version serving and nothing left behind', async () => {
    // v8 takes 3 s to be healthy: v9 arrives while it starts.
    const slowUpload = uploadFiles(t, 'load', version('v8', 3000));
    await waitForApp(t, 'load', (app) => app.status.next?.state === 'starting');
    const newest = await uploadFiles(t, 'load', version('v9'));
    await slowUpload;
    expect(newest.status).toBe(201);
    expect(newest.body.status).toMatchObject({ state: 'running', version: newest.body.version });
    expect(((await (await fetch(`${base()}/load/`)).json()) as { label: string }).label).toBe('v9');
    await nothingLeftBehind(1);
    await eventually(() => runCopies(t.home, tenantId, 'load').length === 1, 10_000);
  }, 60_000);

  it('stops everything on an undeploy during a switch', async () => {
    const slowUpload = uploadFiles(t, 'load', version('v10', 3000));
    await waitForApp(t, 'load', (app) => app.status.next?.state === 'starting');
    expect(appHostPids()).toHaveLength(2);
    const removed = await t.call('DELETE', '/api/v1/tenants/acme.com/webapps/load', { as: ACME });
    expect(removed.status).toBe(204);
    await slowUpload;
    await nothingLeftBehind(0);
    // The undeploy answers before the runtime has stopped the processes: their copies go right after.
    await eventually(() => !existsSync(path.join(t.home, 'work', 'apps', String(tenantId), 'load')), 10_000);
    expect((await fetch(`${base()}/load/`)).status).toBe(404);
  }, 60_000);

  it('keeps a tunnel opened before a redeploy echoing after the switch, and closes it at the drain bound', async () => {
    const first = await uploadFiles(t, 'echo', echoVersion('e1'));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const url = new URL(t.server.url);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.write(
      `GET /t/acme.com/echo/ HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`,
    );
    const [head] = (await once(socket, 'data')) as [Buffer];
    expect(head.toString()).toMatch(/^HTTP\/1\.1 101/);
    expect(await echoed(socket, 'before')).toBe('e1:before');
    const closed = once(socket, 'close').then(() => performance.now());

    const second = await uploadFiles(t, 'echo', echoVersion('e2'));
    const switchedAt = performance.now();
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(await (await fetch(`${base()}/echo/`)).text()).toBe('e2');
    // The old version's requests drained at once; its tunnel is kept, still answered by it.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await echoed(socket, 'after')).toBe('e1:after');
    // Closed at the old version's request_timeout_s (3 s) after the switch.
    const closedAt = await closed;
    expect(closedAt - switchedAt).toBeGreaterThanOrEqual(2500);
    expect(closedAt - switchedAt).toBeLessThan(8000);
    await nothingLeftBehind(1);
  }, 60_000);
});
