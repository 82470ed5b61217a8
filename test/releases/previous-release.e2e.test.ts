import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { CURRENT_RELEASE, RELEASES } from '../../src/releases/matrix.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { ensureBuilt, ProcessCluster } from '../helpers/cluster.js';
import { clusterStatus, startNodeProcess } from '../helpers/node-process.js';
import { buildRelease } from '../helpers/release-build.js';
import { ADMIN_PASSWORD, callJson } from '../helpers/server.js';

const RECORDED = RELEASES.filter((release) => release.source !== undefined);

function login(url: string) {
  return callJson(url, 'POST', '/api/v1/authenticate', {
    body: { username: 'admin', password: ADMIN_PASSWORD },
  });
}

describe('releases whose source is recorded', () => {
  it('start with 2.0.1, the first release cut from a recorded commit', () => {
    expect(RECORDED.map((release) => release.version)).toEqual(['2.0.1']);
  });
});

describe.each(RECORDED.map((release) => [release.version, release.source?.commit ?? ''] as const))(
  'release %s, built from its commit %s',
  (version, commit) => {
    const cleanups = cleanupsAfterEach();

    it('is that release in the history: its package says so, and its tag names the commit', () => {
      const manifest = execFileSync('git', ['show', `${commit}:package.json`], {
        cwd: PACKAGE_ROOT,
        encoding: 'utf8',
      });
      expect((JSON.parse(manifest) as { version: string }).version).toBe(version);
      // A clone that brought tags has the release's; one without tags still has the commit.
      const tag = spawnSync('git', ['rev-parse', '--verify', '--quiet', `v${version}^{commit}`], {
        cwd: PACKAGE_ROOT,
        encoding: 'utf8',
      });
      if (tag.status === 0) expect(tag.stdout.trim()).toBe(commit);
    });

    // Its timeout covers the release's own tsc build first: 8 s on a quiet machine, 52 s seen with the
    // cores shared.
    it('runs as a real node beside this checkout’s code, on one PostgreSQL database, and both serve logins', async () => {
      ensureBuilt();
      const built = buildRelease(version, commit);
      console.log(`release ${version} ${built.fromCache ? 'found in the cache' : 'built'} in ${built.ms} ms`);
      const cluster = await ProcessCluster.create('previous-release');
      cleanups.add(() => cluster.stop());

      // The old release lays out the home and creates the database, as an operator's first node would.
      const old = await startNodeProcess(cluster.homeFor(0), built.cli);
      cleanups.add(() => old.kill());
      const oldUrl = `http://127.0.0.1:${old.port}`;
      expect((await callJson(oldUrl, 'GET', '/readyz')).body).toMatchObject({
        ready: true,
        release: version,
      });
      expect(await login(oldUrl)).toMatchObject({ status: 200, body: { user: 'admin' } });

      const current = await startNodeProcess(cluster.homeFor(1));
      cleanups.add(() => current.kill());
      const currentUrl = `http://127.0.0.1:${current.port}`;
      expect((await callJson(currentUrl, 'GET', '/readyz')).body).toMatchObject({
        ready: true,
        release: CURRENT_RELEASE,
      });
      expect(await login(currentUrl)).toMatchObject({ status: 200, body: { user: 'admin' } });

      // Each sees the other: the old node's row says the release its own code reports.
      const listed = await clusterStatus(current.home);
      expect(listed.find((n) => n.port === old.port)).toMatchObject({ release: version, state: 'live' });
      expect(listed.find((n) => n.port === current.port)).toMatchObject({
        release: CURRENT_RELEASE,
        state: 'live',
      });
    }, 180_000);
  },
);
