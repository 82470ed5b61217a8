import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start.js';
import { exportHome } from '../../src/transfer/export.js';
import { DATABASE_KINDS, scratchDatabase, scratchFolder } from '../helpers/databases.js';
import { buildFixtureOn, fixtureAtCurrentRelease } from '../helpers/fixtures.js';
import { looseEntries, modeOf } from '../helpers/modes.js';
import { freePort } from '../helpers/ports.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { buildZip } from '../webapps/helpers.js';

const CLI = path.resolve('bin/tessera.js');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function waitForReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tessera start exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never answered`);
}

/** What a first start writes that can hold a secret: the SQLite database, its -wal and -shm, the config, the secrets key, the log. */
const FIRST_START_FILES = [
  'conf/tessera.toml',
  'conf/secrets.key',
  'repository/database/tessera.db',
  'repository/database/tessera.db-wal',
  'repository/database/tessera.db-shm',
  'logs/tessera.log',
];

describe('a home is its owner’s alone: files 0600, folders 0700', () => {
  it('after a first `tessera start` (the SQLite database, its -wal and -shm, the config, the log)', async () => {
    const folder = scratchFolder('first-start-modes');
    cleanups.push(folder.remove);
    const home = path.join(folder.dir, 'home');
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'start', '--home', home], {
      env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: 'first-start-pw' },
      stdio: 'ignore',
    });
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await waitForReady(`http://127.0.0.1:${port}/readyz`, child);
    try {
      for (const file of FIRST_START_FILES) {
        expect(existsSync(path.join(home, file)), file).toBe(true);
        expect(modeOf(path.join(home, file)), file).toBe(0o600);
      }
      for (const dir of ['.', 'conf', 'repository', 'repository/database', 'logs', 'backups'])
        expect(modeOf(path.join(home, dir)), dir).toBe(0o700);
      expect(looseEntries(home)).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('after an in-process first start, whose process keeps its usual umask (tests, embedders)', async () => {
    const folder = scratchFolder('inprocess-modes');
    cleanups.push(folder.remove);
    const home = path.join(folder.dir, 'home');
    const server = await startServer({ home, port: 0, host: '127.0.0.1', stdoutLogs: false });
    cleanups.push(() => server.close());
    expect(process.umask() & 0o077).not.toBe(0o077); // the case this test is about
    for (const file of FIRST_START_FILES) expect(modeOf(path.join(home, file)), file).toBe(0o600);
    expect(looseEntries(home)).toEqual([]);
  });

  for (const kind of DATABASE_KINDS) {
    it(`tightens a home made earlier with a looser umask at start, and exports owner-only (${kind})`, async () => {
      const scratch = await scratchDatabase(kind, 'loose');
      cleanups.push(() => scratch.drop());
      const home = path.join(scratch.home, 'old');
      // The fixture writes its files like an earlier release did: 0644 config, store files and database.
      const fixture = await buildFixtureOn(kind, scratch, {
        release: '2.0.0',
        home,
        tenants: 1,
        users: 3,
        password: 'fixture-pw',
      });
      cleanups.push(fixture.dropStores);
      await fixtureAtCurrentRelease(home, fixture.summary.databaseUrl);
      expect(looseEntries(home)).not.toEqual([]);
      const server = await startServer({ home, port: 0, host: '127.0.0.1', stdoutLogs: false });
      await server.close();
      expect(looseEntries(home)).toEqual([]);

      const out = path.join(scratch.home, 'bundle.tar.gz');
      await exportHome({ home, out });
      expect(modeOf(out)).toBe(0o600);
    });
  }
});

describe('a replaced webapp zip kept in backups/', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  it('is 0600, like the zip that replaced it', async () => {
    t = await startTestServer('sqlite');
    const upload = async (content: string) => {
      const response = await fetch(`${t?.server.url}/api/v1/tenants/carbon.super/webapps?name=shop`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`,
          'content-type': 'application/zip',
        },
        body: await buildZip({ 'index.html': content }),
      });
      expect(response.status).toBe(201);
    };
    await upload('<h1>one</h1>');
    await upload('<h1>two</h1>');
    const backups = path.join(t.home, 'backups');
    const replaced = readdirSync(backups).filter((name) => name.startsWith('replaced-'));
    expect(replaced).toHaveLength(1);
    expect(modeOf(path.join(backups, replaced[0] as string))).toBe(0o600);
    expect(modeOf(path.join(t.home, 'repository/deployment/server/webapps/shop.zip'))).toBe(0o600);
    expect(looseEntries(t.home)).toEqual([]);
  });
});
