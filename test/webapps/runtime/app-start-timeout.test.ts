import { describe, expect, it } from 'vitest';
import { alive, call, runtimeFixtures, waitFor } from './helpers.js';

const fixture = runtimeFixtures();

/** An ESM entry whose import never finishes: a top-level await on a promise nobody resolves. */
const NEVER_LOADS = { 'server.mjs': 'await new Promise(() => {});\nexport default () => {};' };

describe('start_timeout_s', () => {
  it('fails a first start whose entry never finishes loading, and stops its process', async () => {
    const { runtime, app } = await fixture();
    const startedAt = Date.now();
    const stuck = await runtime.start(
      app({ name: 'stuck', entry: 'server.mjs', files: NEVER_LOADS, limits: { startTimeoutS: 1 } }),
    );
    const pid = stuck.status().pid ?? 0;
    const settled = await stuck.settled();
    const tookMs = Date.now() - startedAt;
    expect(settled.state).toBe('error');
    expect(settled.reason).toBe('did not become ready within 1 s: its entry had not finished loading');
    expect(tookMs).toBeGreaterThanOrEqual(900);
    expect(tookMs).toBeLessThan(5000);
    expect(stuck.endpoint()).toBeUndefined();
    await waitFor('the stuck process to be gone', () => !alive(pid), 5000);
  });

  it('keeps the old version serving when the new one never becomes healthy, and reports why', async () => {
    const { runtime, app } = await fixture();
    const v1 = await runtime.start(
      app({ name: 'site', files: { 'server.js': `module.exports = (q, s) => s.end('v1');` } }),
    );
    expect((await v1.settled()).state).toBe('running');
    const v2 = await runtime.start(
      app({
        name: 'site',
        health: '/health',
        limits: { startTimeoutS: 2 },
        files: { 'server.js': `module.exports = (q, s) => { s.statusCode = 503; s.end('v2'); };` },
      }),
    );
    await runtime.switched(1, 'site');
    expect(runtime.get(1, 'site')).toBe(v1);
    expect((await call(v1, '/')).text).toBe('v1');
    expect(runtime.rollout(1, 'site')?.failed).toMatchObject({
      version: v2.version,
      reason: 'did not become ready within 2 s: health check /health did not answer 2xx (last: status 503)',
    });
    await waitFor('v2 to stop', () => v2.status().state === 'stopped' && v2.status().pid === undefined);
  });

  it('fails a redeploy whose import never finishes, the old version serving meanwhile', async () => {
    const { runtime, app } = await fixture();
    const v1 = await runtime.start(
      app({ name: 'site', files: { 'server.js': `module.exports = (q, s) => s.end('v1');` } }),
    );
    await v1.settled();
    const v2 = await runtime.start(
      app({ name: 'site', entry: 'server.mjs', files: NEVER_LOADS, limits: { startTimeoutS: 1 } }),
    );
    expect(runtime.rollout(1, 'site')?.next?.state).toBe('starting');
    await runtime.switched(1, 'site');
    expect(runtime.get(1, 'site')).toBe(v1);
    expect(runtime.rollout(1, 'site')?.failed?.reason).toBe(
      'did not become ready within 1 s: its entry had not finished loading',
    );
    expect(v2.version).toBe(runtime.rollout(1, 'site')?.failed?.version);
  });
});
