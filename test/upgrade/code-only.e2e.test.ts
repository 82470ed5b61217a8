import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { getRelease } from '../../src/releases/matrix.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { runCli } from '../helpers/cli.js';
import { ensureBuilt } from '../helpers/cluster.js';
import { DATABASE_KINDS, scratchDatabase } from '../helpers/databases.js';
import { buildFixtureOn } from '../helpers/fixtures.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { buildRelease } from '../helpers/release-build.js';
import { allRows } from '../helpers/rows.js';
import { callJson } from '../helpers/server.js';

const PASSWORD = 'fixture-pw';
/** The code-only release after 2.0.0; the current release changes the schema, so it is asked for with --to. */
const TARGET = '2.0.1';

async function rowsOf(url: string, home: string) {
  const database: Database<unknown> = await openDatabase<unknown>(url, home);
  try {
    return await allRows(database);
  } finally {
    await database.close();
  }
}

describe.each(DATABASE_KINDS)(`a code-only upgrade from 2.0.0 to ${TARGET}, on %s`, (kind) => {
  const cleanups = cleanupsAfterEach();

  // Its timeout covers building 2.0.1 when no other test file has cached it yet (see previous-release.e2e).
  it(`is planned as a rolling restart: nothing copied or written, and the old home serves on ${TARGET}'s own code`, async () => {
    ensureBuilt();
    const built = buildRelease(TARGET, getRelease(TARGET).source?.commit ?? '');
    const production = await scratchDatabase(kind, 'prod');
    cleanups.add(() => production.drop());
    const oldHome = path.join(production.home, 'old');
    const newHome = path.join(production.home, 'new');
    const fixture = await buildFixtureOn(kind, production, {
      release: '2.0.0',
      home: oldHome,
      tenants: 1,
      users: 3,
      password: PASSWORD,
    });
    cleanups.add(() => fixture.dropStores());
    const staging = kind === 'sqlite' ? undefined : await scratchDatabase(kind, 'staging');
    if (staging) cleanups.add(() => staging.drop());
    const stagingUrl = staging?.url ?? 'sqlite:staging/tessera.db';
    const before = await rowsOf(fixture.summary.databaseUrl, oldHome);
    const args = [
      'upgrade',
      '--from-home',
      oldHome,
      '--home',
      newHome,
      '--staging-db',
      stagingUrl,
      '--to',
      TARGET,
      '--yes',
    ];

    for (const extra of [['--dry-run'], []]) {
      const run = runCli([...args, ...extra]);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain(`-> ${TARGET} changes code only`);
      expect(run.stdout).toContain(`tessera start --home ${oldHome}`);
      expect(run.stdout).toContain('No node runs on production now.');
    }
    // No new home, no journal, no staging copy, no backup; production row by row as it was.
    expect(existsSync(newHome)).toBe(false);
    expect(existsSync(path.join(oldHome, 'backups', 'upgrade'))).toBe(false);
    if (staging) expect(Object.keys(await rowsOf(staging.url, production.home))).toEqual([]);
    expect(await rowsOf(fixture.summary.databaseUrl, oldHome)).toEqual(before);

    // The rolling restart itself: 2.0.1, built from its commit, starts on the 2.0.0 home as it is and serves
    // its users.
    const node = await startNodeProcess(oldHome, built.cli);
    cleanups.add(() => node.kill());
    const url = `http://127.0.0.1:${node.port}`;
    const login = await callJson(url, 'POST', '/api/v1/authenticate', {
      body: { username: 'admin', password: PASSWORD },
    });
    expect(login.status).toBe(200);
    const ready = await callJson(url, 'GET', '/readyz');
    expect(ready.body).toMatchObject({ ready: true, schema: 'current', release: TARGET });

    // Asked again with a node up, the plan names it and the release it runs.
    const again = runCli([...args, '--dry-run']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(
      `${node.node.nodeId} at ${node.node.host}:${node.port}: release ${TARGET}, live`,
    );
  }, 180_000);
});
