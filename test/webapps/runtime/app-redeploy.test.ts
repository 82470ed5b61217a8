import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppRuntime } from '../../../src/webapps/runtime/app-runtime.js';
import { alive, call, runtimeFixtures, waitFor } from './helpers.js';

const fixture = runtimeFixtures();

/** A request listener answering its label, `/slow` after `ms`, `/hang` never; healthy after `healthyAfterMs`. */
function versionApp(label: string, healthyAfterMs = 0): Record<string, string> {
  return {
    'server.js': `
      const t0 = Date.now();
      module.exports = (q, s) => {
        if (q.url === '/health') { s.statusCode = Date.now() - t0 >= ${healthyAfterMs} ? 200 : 503; return s.end(); }
        if (q.url === '/slow') return setTimeout(() => s.end('${label} slow'), 1500);
        if (q.url === '/hang') return;
        s.end('${label}');
      };`,
  };
}

/** The run copies left under the fixture's home, as `<tenant>/<app>/<n>` paths. */
function copies(home: string): string[] {
  const runs = path.join(home, 'work', 'apps');
  if (!existsSync(runs)) return [];
  return readdirSync(runs, { recursive: true, encoding: 'utf8' }).filter(
    (entry) => entry.split(path.sep).length === 3,
  );
}

describe('a redeploy on one node', () => {
  it('starts the new version beside the old one, switches once it is healthy, then stops the old one', async () => {
    const { runtime, app, home } = await fixture();
    const v1 = await runtime.start(app({ name: 'site', files: versionApp('v1') }));
    expect((await v1.settled()).state).toBe('running');
    const v2 = await runtime.start(app({ name: 'site', files: versionApp('v2', 1200), health: '/health' }));
    // Until v2 answers its health path, v1 takes the requests and the rollout shows v2 starting.
    expect(runtime.get(1, 'site')).toBe(v1);
    expect(runtime.rollout(1, 'site')?.next).toMatchObject({ version: v2.version, state: 'starting' });
    expect((await call(v1, '/')).text).toBe('v1');
    expect(v2.root).not.toBe(v1.root);
    expect(copies(home).sort()).toEqual([path.join('1', 'site', '1'), path.join('1', 'site', '2')]);

    await runtime.switched(1, 'site');
    expect(runtime.get(1, 'site')).toBe(v2);
    expect(runtime.rollout(1, 'site')).toBeUndefined();
    expect((await call(v2, '/')).text).toBe('v2');
    const oldPid = v1.status().pid;
    await waitFor('v1 to stop', () => v1.status().state === 'stopped' && !alive(oldPid ?? 0));
    await waitFor('v1 copy to go', () => copies(home).length === 1);
    expect(copies(home)).toEqual([path.join('1', 'site', '2')]);
  });

  it('lets a request in flight on the old version finish with its answer', async () => {
    const { runtime, app } = await fixture();
    const v1 = await runtime.start(app({ name: 'site', files: versionApp('v1') }));
    await v1.settled();
    const slow = call(v1, '/slow');
    // The request is on its way to v1 before the redeploy is asked.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const v2 = await runtime.start(app({ name: 'site', files: versionApp('v2') }));
    await runtime.switched(1, 'site');
    expect(runtime.get(1, 'site')).toBe(v2);
    // Switched while the slow request is still in v1: v1 still runs.
    expect(v1.status().state).toBe('running');
    expect(await slow).toMatchObject({ status: 200, text: 'v1 slow' });
    await waitFor('v1 to stop after its drain', () => v1.status().state === 'stopped');
  });

  it('bounds the drain by the old version request timeout, then stops it anyway', async () => {
    const { runtime, app } = await fixture();
    const v1 = await runtime.start(
      app({ name: 'site', files: versionApp('v1'), limits: { requestTimeoutS: 1 } }),
    );
    await v1.settled();
    const hung = call(v1, '/hang').then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runtime.start(app({ name: 'site', files: versionApp('v2') }));
    await runtime.switched(1, 'site');
    const switchedAt = Date.now();
    const pid = v1.status().pid ?? 0;
    await waitFor('v1 to stop', () => v1.status().state === 'stopped' && !alive(pid), 10_000);
    const tookMs = Date.now() - switchedAt;
    expect(tookMs).toBeGreaterThanOrEqual(900);
    expect(tookMs).toBeLessThan(5000);
    expect(await hung).toBe('cut');
  });

  it('keeps the old version serving when the new one throws at import, and reports why', async () => {
    const { runtime, app, home } = await fixture();
    const v1 = await runtime.start(app({ name: 'site', files: versionApp('v1') }));
    await v1.settled();
    const v2 = await runtime.start(
      app({ name: 'site', files: { 'server.js': `throw new Error('broken at import');` } }),
    );
    await runtime.switched(1, 'site');
    expect(runtime.get(1, 'site')).toBe(v1);
    expect(v1.status().state).toBe('running');
    expect((await call(v1, '/')).text).toBe('v1');
    const failed = runtime.rollout(1, 'site')?.failed;
    expect(failed?.version).toBe(v2.version);
    expect(failed?.reason).toMatch(/broken at import/);
    await waitFor(
      'v2 to stop and its copy to go',
      () => v2.status().state === 'stopped' && copies(home).length === 1,
    );
    // Stopped for good: no restart with backoff behind the serving version's back.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(v2.status().state).toBe('stopped');
    expect(v2.status().pid).toBeUndefined();

    // A later good deploy replaces v1 as usual, and the failure is no longer shown.
    const v3 = await runtime.start(app({ name: 'site', files: versionApp('v3') }));
    await runtime.switched(1, 'site');
    expect(runtime.get(1, 'site')).toBe(v3);
    expect(runtime.rollout(1, 'site')).toBeUndefined();
  });

  it('supersedes a version still starting by a newer redeploy, leaving only the newest', async () => {
    const { runtime, app, home } = await fixture();
    const v1 = await runtime.start(app({ name: 'site', files: versionApp('v1') }));
    await v1.settled();
    const v2 = await runtime.start(app({ name: 'site', files: versionApp('v2', 60_000), health: '/health' }));
    await waitFor('v2 to have a process', () => v2.status().pid);
    const v2Pid = v2.status().pid ?? 0;
    const v3 = await runtime.start(app({ name: 'site', files: versionApp('v3') }));
    expect(v2.status().state).toBe('stopped');
    expect(alive(v2Pid)).toBe(false);
    await runtime.switched(1, 'site');
    expect(runtime.get(1, 'site')).toBe(v3);
    expect((await call(v3, '/')).text).toBe('v3');
    await waitFor('v1 to stop', () => v1.status().state === 'stopped');
    await waitFor('only v3 copy left', () => copies(home).length === 1);
    expect(copies(home)).toEqual([path.join('1', 'site', '3')]);
  });

  it('stops every version, draining and starting ones included, on an undeploy during a switch', async () => {
    const { runtime, app, home } = await fixture();
    const v1 = await runtime.start(app({ name: 'site', files: versionApp('v1') }));
    await v1.settled();
    const v2 = await runtime.start(app({ name: 'site', files: versionApp('v2', 60_000), health: '/health' }));
    await waitFor('v2 to have a process', () => v2.status().pid);
    const pids = [v1.status().pid ?? 0, v2.status().pid ?? 0];
    await runtime.stop(1, 'site');
    expect(runtime.get(1, 'site')).toBeUndefined();
    expect([v1.status().state, v2.status().state]).toEqual(['stopped', 'stopped']);
    expect(pids.filter(alive)).toEqual([]);
    expect(copies(home)).toEqual([]);
    expect(existsSync(path.join(home, 'work', 'apps', '1'))).toBe(false);
  });

  it('runs each version from its own copy: the deployed folder may change under it', async () => {
    const { runtime, app, home } = await fixture();
    const launch = app({ name: 'site', files: versionApp('v1') });
    const v1 = await runtime.start(launch);
    await v1.settled();
    writeFileSync(path.join(launch.root, 'server.js'), 'throw new Error("edited in place");');
    expect((await call(v1, '/')).text).toBe('v1');
    expect(copies(home)).toEqual([path.join('1', 'site', '1')]);
  });

  it('clears the copies a stopped node left when it opens', async () => {
    const { home } = await fixture();
    const stale = path.join(home, 'work', 'apps', '1', 'site', '7');
    mkdirSync(stale, { recursive: true });
    const runtime = await AppRuntime.open({
      logsFolder: path.join(home, 'logs'),
      runsFolder: path.join(home, 'work', 'apps'),
      logger: pino({ level: 'silent' }),
    });
    expect(existsSync(stale)).toBe(false);
    await runtime.close();
  });
});

describe('a version that cannot be copied', () => {
  it('leaves the serving version and says why', async () => {
    const { runtime, app } = await fixture();
    const v1 = await runtime.start(app({ name: 'site', files: versionApp('v1') }));
    await v1.settled();
    const gone = {
      ...app({ name: 'site', files: versionApp('v2') }),
      root: '/nonexistent/app',
      version: '2',
    };
    await expect(runtime.start(gone)).rejects.toThrow(/cannot copy the app to run it/);
    expect(runtime.get(1, 'site')).toBe(v1);
    expect((await call(v1, '/')).text).toBe('v1');
    expect(runtime.rollout(1, 'site')?.failed).toMatchObject({ version: '2', reason: /ENOENT/ });
  });
});
