import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_FORMAT } from '../../src/config/keys.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { getRelease, RELEASES, releaseSchemaLevel } from '../../src/releases/matrix.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { runCli } from '../helpers/cli.js';
import { ensureBuilt, ProcessCluster } from '../helpers/cluster.js';
import { clusterStatus, startNodeProcess } from '../helpers/node-process.js';
import { freePort } from '../helpers/ports.js';
import { buildRelease } from '../helpers/release-build.js';
import { initReleaseHome } from '../helpers/release-home.js';
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
    it('runs as a real node on a home and database it laid out itself, which this checkout refuses with a pointer to tessera upgrade', async () => {
      ensureBuilt();
      const built = buildRelease(version, commit);
      console.log(`release ${version} ${built.fromCache ? 'found in the cache' : 'built'} in ${built.ms} ms`);
      const cluster = await ProcessCluster.create('previous-release');
      cleanups.add(() => cluster.stop());

      // The old release lays out the home and creates the database, as an operator's first node would.
      const oldHome = path.join(cluster.scratch.home, 'old');
      initReleaseHome(built, oldHome, cluster.scratch.url);
      const old = await startNodeProcess(oldHome, built.cli);
      cleanups.add(() => old.kill());
      const oldUrl = `http://127.0.0.1:${old.port}`;
      expect((await callJson(oldUrl, 'GET', '/readyz')).body).toMatchObject({
        ready: true,
        release: version,
      });
      expect(await login(oldUrl)).toMatchObject({ status: 200, body: { user: 'admin' } });
      const listed = await clusterStatus(oldHome, built.cli);
      expect(listed.find((n) => n.port === old.port)).toMatchObject({ release: version, state: 'live' });

      // 2.1.0 changed the schema and the config format: this checkout starts neither on that home's config
      // nor, with a config of its own, on that database. Both refusals name the staged upgrade.
      expect(getRelease(version).configFormat).not.toBe(CONFIG_FORMAT);
      const onOldHome = runCli(['start', '--home', oldHome]);
      expect(onOldHome.status).toBe(2);
      expect(onOldHome.stderr).toContain(`is in the Tessera ${getRelease(version).configFormat} format`);
      expect(onOldHome.stderr).toContain('tessera upgrade');
      const onOldDatabase = runCli(['start', '--home', cluster.homeFor(1)], {
        env: { PORT: String(await freePort()) },
      });
      expect(onOldDatabase.status).toBe(2);
      expect(onOldDatabase.stderr).toContain(`schema level ${releaseSchemaLevel(version)}`);
      expect(onOldDatabase.stderr).toContain('tessera upgrade');
      // The old node was never disturbed.
      expect(await login(oldUrl)).toMatchObject({ status: 200, body: { user: 'admin' } });
    }, 180_000);
  },
);
