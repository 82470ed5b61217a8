import { describe, expect, it } from 'vitest';
import { call, runtimeFixtures } from './helpers.js';

const fixture = runtimeFixtures();

describe('the health path', () => {
  it('keeps an app starting until its health path answers 2xx, then running', async () => {
    const { runtime, app } = await fixture();
    // Healthy only after its third health request: a cache warming up, say.
    const warming = await runtime.start(
      app({
        name: 'warming',
        health: '/healthz',
        files: {
          'server.js': `let asked = 0;
module.exports = (req, res) => {
  if (req.url === '/healthz') { asked += 1; res.statusCode = asked >= 3 ? 204 : 503; return res.end(); }
  res.end('health asked ' + asked + ' times');
};`,
        },
      }),
    );
    // Listening at once, yet not running before the health path said so.
    expect(warming.status().state).toBe('starting');
    expect(warming.endpoint()).toBeUndefined();
    const settled = await warming.settled();
    expect(settled.state).toBe('running');
    expect((await call(warming, '/')).text).toBe('health asked 3 times');
  });

  it('calls an app whose health path never answers 2xx a failed start, with the last answer', async () => {
    const { runtime, app } = await fixture();
    const sick = await runtime.start(
      app({
        name: 'sick',
        health: '/healthz',
        limits: { startTimeoutS: 1 },
        files: { 'server.js': `module.exports = (req, res) => { res.statusCode = 500; res.end(); };` },
      }),
    );
    const settled = await sick.settled();
    expect(settled.state).toBe('error');
    expect(settled.reason).toBe(
      'did not become ready within 1 s: health check /healthz did not answer 2xx (last: status 500)',
    );
    expect(sick.endpoint()).toBeUndefined();
  });
});
