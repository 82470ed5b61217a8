import { describe, expect, it } from 'vitest';
import type { AppStatus } from '../../../src/webapps/runtime/contract.js';
import { call, runtimeFixtures, waitFor } from './helpers.js';

const fixture = runtimeFixtures();

const HELLO = `module.exports = (req, res) => res.end('still here');`;

describe('supervision', () => {
  it('restarts a crashing app with growing delays, then calls it a crash loop; its neighbour keeps answering', async () => {
    const { runtime, app, registry } = await fixture();
    const steady = await runtime.start(app({ name: 'steady', files: { 'server.js': HELLO } }));
    const crashing = await runtime.start(
      app({
        name: 'crashing',
        files: {
          'server.js': `module.exports = (req, res) => res.end('up');
setTimeout(() => { console.error('about to crash'); throw new Error('boom'); }, 300);`,
        },
      }),
    );
    expect((await steady.settled()).state).toBe('running');
    expect((await crashing.settled()).state).toBe('running');

    // Each restart: how long after the crash (the status's `since`) the restart counter moved.
    const delays: number[] = [];
    const states = new Set<string>();
    let last: AppStatus = crashing.status();
    let neighbourAnswers = 0;
    await waitFor(
      'three restarts',
      async () => {
        const now = crashing.status();
        states.add(now.state);
        if (now.restarts > last.restarts) delays.push(Date.now() - last.since.getTime());
        last = now;
        expect((await call(steady, '/')).text).toBe('still here');
        neighbourAnswers += 1;
        return now.restarts >= 3 ? now : undefined;
      },
      30_000,
    );
    expect(states).toEqual(new Set(['running', 'restarting', 'starting', 'error']));
    expect(delays).toHaveLength(3);
    const [first, second, third] = delays as [number, number, number];
    expect(first).toBeGreaterThanOrEqual(900);
    expect(first).toBeLessThan(1900);
    expect(second).toBeGreaterThanOrEqual(1900);
    expect(second).toBeLessThan(2900);
    expect(third).toBeGreaterThanOrEqual(3900);
    expect(third).toBeLessThan(4900);
    console.log(`restart delays: ${delays.join(' ms, ')} ms; neighbour answered ${neighbourAnswers} times`);

    const errored = await waitFor('the crash loop state', () => {
      const status = crashing.status();
      return status.state === 'error' ? status : undefined;
    });
    expect(errored.reason).toMatch(
      /^crashed 3 times without a stable run: exited with code 1: Error: boom\n/,
    );
    const metrics = await registry.getSingleMetricAsString('tessera_app_restarts_total');
    expect(metrics).toContain('tessera_app_restarts_total{tenant="acme.com",app="crashing"} 3');
  });

  it('kills an app whose event loop is blocked and starts it again', async () => {
    const { runtime, app } = await fixture();
    const spinner = await runtime.start(
      app({
        name: 'spinner',
        files: {
          'server.js': `module.exports = (req, res) => { if (req.url === '/spin') for (;;) {} res.end('fine'); };`,
        },
        limits: { requestTimeoutS: 2 },
      }),
    );
    const first = await spinner.settled();
    expect(first.state).toBe('running');
    const started = Date.now();
    await expect(call(spinner, '/spin')).rejects.toThrow();
    const killedAfter = Date.now() - started;
    expect(killedAfter).toBeLessThan(5000);
    // The socket closes with the kill; the exit is seen a moment later.
    const killed = await waitFor('the kill', () => spinner.status().reason);
    expect(killed).toBe('event loop blocked for more than 2 s');
    const again = await waitFor('the restart', () => {
      const status = spinner.status();
      return status.state === 'running' ? status : undefined;
    });
    expect(again.restarts).toBe(1);
    expect(again.pid).not.toBe(first.pid);
    expect((await call(spinner, '/')).text).toBe('fine');
    console.log(`blocked loop killed ${killedAfter} ms after the request`);
  });

  it('restarts an app past its memory limit, saying so', async () => {
    const { runtime, app } = await fixture();
    const hog = await runtime.start(
      app({
        name: 'hog',
        files: {
          'server.js': `const kept = [];
module.exports = (req, res) => { for (;;) kept.push(new Array(100000).fill(kept.length)); };`,
        },
        limits: { memoryMb: 32 },
      }),
    );
    const first = await hog.settled();
    expect(first.state).toBe('running');
    await expect(call(hog, '/grow')).rejects.toThrow();
    const crashed = await waitFor('the memory reason', () => {
      const status = hog.status();
      return status.reason?.includes('memory') ? status : undefined;
    });
    expect(crashed.reason).toBe('memory limit of 32 MiB exceeded');
    expect(crashed.state).toMatch(/restarting|starting/);
    const again = await waitFor('the restart', () =>
      hog.status().state === 'running' ? hog.status() : undefined,
    );
    expect(again.restarts).toBe(1);
  });
});
