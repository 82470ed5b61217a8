import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { smallApp } from './node-apps-fixtures.js';
import {
  ACME,
  appHostPids,
  appListing,
  jsonOf,
  processAlive,
  SUPER,
  uploadFiles,
  waitForApp,
} from './node-apps-helpers.js';

/** Issue 16 end to end: ten small apps uploaded at once, and what their processes cost in memory. */

const COUNT = 10;
const MiB = 1024 * 1024;
/** Generous on purpose: a hello-world host is ~40-60 MiB resident; this catches a regression, not noise. */
const BOUND_PER_APP = 120 * MiB;

/** VmRSS of a process from /proc, in bytes. */
function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

describe('ten node apps deployed at once', () => {
  let t: TestServer;
  let stopped = false;
  const names = Array.from({ length: COUNT }, (_, i) => `app${i}`);

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    const created = await t.call('POST', '/api/v1/tenants', {
      as: SUPER,
      body: { domain: 'acme.com', adminPassword: ACME[1] },
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    if (!stopped) await t?.stop();
  });

  it('brings all ten up, each answering, within a bounded total memory', async () => {
    const started = Date.now();
    const uploads = await Promise.all(names.map((name) => uploadFiles(t, name, smallApp(name))));
    const deployMs = Date.now() - started;
    for (const [i, uploaded] of uploads.entries()) {
      expect(uploaded.status, names[i]).toBe(201);
      expect(uploaded.body.status.state, names[i]).toBe('running');
    }
    const pids: number[] = [];
    for (const name of names) {
      const response = await jsonOf(fetch(`${t.server.url}/t/acme.com/${name}/`));
      expect(response.label).toBe(name);
      pids.push(response.pid);
    }
    expect(new Set(pids).size).toBe(COUNT);
    expect(appHostPids().sort()).toEqual([...pids].sort());

    // The API's memory is the RSS at the last heartbeat (one a second): wait for each app's first.
    let apiTotal = 0;
    for (const name of names) {
      const listed = await waitForApp(t, name, (a) => typeof a.status.memoryBytes === 'number');
      expect(listed.status.memoryBytes).toBeGreaterThan(10 * MiB);
      apiTotal += listed.status.memoryBytes;
    }
    const procTotal = pids.reduce((sum, pid) => sum + residentBytes(pid), 0);
    console.log(
      `[node-apps] ${COUNT} apps deployed concurrently in ${deployMs} ms; total RSS ` +
        `${(procTotal / MiB).toFixed(1)} MiB from /proc (${(procTotal / COUNT / MiB).toFixed(1)} MiB each), ` +
        `${(apiTotal / MiB).toFixed(1)} MiB from the API's memoryBytes`,
    );
    expect(procTotal).toBeLessThan(COUNT * BOUND_PER_APP);
    expect(apiTotal).toBeLessThan(COUNT * BOUND_PER_APP);
    expect((await appListing(t, 'app9')).status.restarts).toBe(0);

    stopped = true;
    await t.stop();
    expect(pids.filter(processAlive)).toEqual([]);
  });
});
