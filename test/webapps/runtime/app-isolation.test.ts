import { realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, runtimeFixtures } from './helpers.js';

const fixture = runtimeFixtures();

/** Tries each file operation the test names and answers with what it got. */
const PROBE_APP = `
const fs = require('node:fs');
const path = require('node:path');
function attempt(fn) {
  try { return { ok: true, value: fn() }; } catch (error) { return { ok: false, code: error.code }; }
}
module.exports = (req, res) => {
  const url = new URL(req.url, 'http://x');
  const target = url.searchParams.get('path');
  const result = url.pathname === '/read'
    ? attempt(() => fs.readFileSync(target, 'utf8'))
    : url.pathname === '/write'
      ? attempt(() => { fs.writeFileSync(target, 'written'); return fs.readFileSync(target, 'utf8'); })
      : attempt(() => require('node:child_process').execFileSync('/bin/echo', ['spawned']).toString());
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(result));
};`;

describe('what an app may touch', () => {
  it('reads only its own run copy, writes only its data folder, spawns nothing', async () => {
    const { runtime, home, app } = await fixture();
    const other = app({ name: 'other', tenantId: 2, files: { 'secret.txt': 'tenant 2 secret' } });
    const launch = app({ name: 'probe', files: { 'server.js': PROBE_APP, 'own.txt': 'mine' } });
    const probe = await runtime.start(launch);
    expect((await probe.settled()).state).toBe('running');

    const get = async (route: string, target: string) =>
      JSON.parse((await call(probe, `${route}?path=${encodeURIComponent(target)}`)).text) as {
        ok: boolean;
        value?: string;
        code?: string;
      };
    // The process runs from its version's copy (work/apps/<tenant>/<app>/<n>), not the deployed folder.
    expect(probe.root).toBe(realpathSync(path.join(home, 'work', 'apps', '1', 'probe', '1')));
    expect(await get('/read', 'own.txt')).toEqual({ ok: true, value: 'mine' });
    expect(await get('/read', path.join(launch.root, 'own.txt'))).toEqual({
      ok: false,
      code: 'ERR_ACCESS_DENIED',
    });
    // From the copy, the home's conf/ is five levels up.
    expect(path.resolve(probe.root, '../../../../../conf/tessera.toml')).toBe(
      realpathSync(path.join(home, 'conf', 'tessera.toml')),
    );
    expect(await get('/read', '../../../../../conf/tessera.toml')).toEqual({
      ok: false,
      code: 'ERR_ACCESS_DENIED',
    });
    expect(await get('/read', path.join(other.root, 'secret.txt'))).toEqual({
      ok: false,
      code: 'ERR_ACCESS_DENIED',
    });
    expect(await get('/write', path.join(launch.dataDir, 'note.txt'))).toEqual({
      ok: true,
      value: 'written',
    });
    expect(await get('/write', path.join(probe.root, 'defaced.txt'))).toEqual({
      ok: false,
      code: 'ERR_ACCESS_DENIED',
    });
    expect(await get('/write', path.join(home, 'conf', 'tessera.toml'))).toEqual({
      ok: false,
      code: 'ERR_ACCESS_DENIED',
    });
    expect(await get('/spawn', '')).toEqual({ ok: false, code: 'ERR_ACCESS_DENIED' });
  });
});

describe('an entry that cannot run', () => {
  it.each([
    ['a missing entry', { 'other.js': '' }, /cannot load .*server\.js: .*Cannot find module/s],
    [
      'an entry exporting a number',
      { 'server.js': 'module.exports = 42;' },
      /exports a number \(42\).*fetch\(request, env, ctx\).*request listener.*http Server/s,
    ],
    [
      'a syntax error',
      { 'server.js': 'module.exports = (req, res) => {' },
      /cannot load .*server\.js.*SyntaxError: Unexpected end of input/s,
    ],
  ])('%s is an error naming the problem', async (_label, files, reason) => {
    const { runtime, app, home } = await fixture();
    const broken = await runtime.start(app({ name: 'broken', files }));
    const status = await broken.settled();
    expect(status.state).toBe('error');
    expect(status.reason).toMatch(reason);
    // Read by tenant admins: no server paths, no frames of Node's own.
    expect(status.reason).not.toContain(home);
    expect(status.reason).not.toContain('node:internal');
    expect(broken.endpoint()).toBeUndefined();
    expect(broken.retryAfterS()).toBeGreaterThanOrEqual(1);
  });
});
