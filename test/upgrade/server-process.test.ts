import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseKind } from '../../src/db/url.js';
import { isTesseraError, type TesseraError } from '../../src/errors.js';
import { homeLayout } from '../../src/home/layout.js';
import { probeNodeLocks } from '../../src/home/node-lock.js';
import { spawnServerProcess } from '../../src/upgrade/server-process/spawn.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { CLI, ensureBuilt, waitFor } from '../helpers/cluster.js';
import { DATABASE_KINDS, scratchFolder } from '../helpers/databases.js';
import { buildFixtureOn } from '../helpers/fixtures.js';
import { writeConfig } from '../helpers/server.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';

const PASSWORD = 'fixture-pw';

beforeAll(() => ensureBuilt());

const cleanups = cleanupsAfterEach();

/** Whether a process runs (a zombie waiting for its reaper has ended). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Records every module a process loads: given to `node --import`, it registers a load hook that appends
 * each URL to the file named by TESSERA_TEST_LOADED.
 */
function moduleRecorder(dir: string): string {
  const hooks = path.join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(process.env.TESSERA_TEST_LOADED, url + '\\n');\n  return next(url, context);\n}\n`,
  );
  const register = path.join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${hooks}`).href)});\n`,
  );
  return register;
}

describe('the server process of an upgrade step', () => {
  it('is reported with its stderr when it dies before it serves', async () => {
    const { dir, remove } = scratchFolder('child-fails');
    cleanups.add(remove);
    const before = process.env.NODE_OPTIONS;
    // The child inherits the environment: a preload that does not exist kills it before any of its code.
    process.env.NODE_OPTIONS = `--require ${path.join(dir, 'no-such-preload.cjs')}`;
    cleanups.add(() => {
      if (before === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = before;
    });
    const error = await spawnServerProcess({ home: path.join(dir, 'home') }).catch((e: unknown) => e);
    expect(isTesseraError(error, 'SMOKE_FAILED')).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(/server process exited \(1\) before it served; its stderr:/);
    expect(message).toContain('no-such-preload.cjs');
    expect(message).toContain('Cannot find module');
  });

  it("passes on the server's own refusal, code and hint included", async () => {
    const { dir, remove } = scratchFolder('child-refuses');
    cleanups.add(remove);
    writeConfig(dir, 'sqlite:repository/database/tessera.db');
    const configFile = homeLayout(dir).configFile;
    writeFileSync(configFile, `${readFileSync(configFile, 'utf8')}\nnot_a_key = 1\n`);
    const error = await spawnServerProcess({ home: dir }).catch((e: unknown) => e);
    expect(isTesseraError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(
      /^The new release did not start: Invalid configuration:.*not_a_key is not a known key/s,
    );
    expect((error as TesseraError).hint).toMatch(/\S/);
    expect((error as TesseraError).exitCode).toBe(2);
    expect(probeNodeLocks(homeLayout(dir)).filter((lock) => lock.held)).toEqual([]);
  });
});

describe('the server process, signalled', () => {
  it('stops as a node stops on SIGINT or SIGTERM (Ctrl-C reaches the whole process group)', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const { dir, remove } = scratchFolder('child-signal');
      cleanups.add(remove);
      writeConfig(dir, 'sqlite:repository/database/tessera.db');
      const server = await spawnServerProcess({ home: dir });
      const pid = server.pid ?? 0;
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(probeNodeLocks(homeLayout(dir)).map((lock) => lock.held)).toEqual([true]);
      process.kill(pid, signal);
      await waitFor(`the server to stop on ${signal}`, async () => (running(pid) ? undefined : true));
      // Closed, not killed: a killed node leaves its lock file behind for the next start to clear.
      expect(probeNodeLocks(homeLayout(dir))).toEqual([]);
      expect(await server.close()).toEqual({ peakRssMb: undefined });
    }
  });
});

describe.each(DATABASE_KINDS)(
  'an upgrade killed while its smoke server runs, on %s',
  (kind: DatabaseKind) => {
    it('leaves no server behind (the child sees its parent gone and stops), and never loaded the server itself', async () => {
      const production = await cleanups.scratch(kind, 'prod');
      const oldHome = path.join(production.home, 'old');
      const newHome = path.join(production.home, 'new');
      const fixture = await buildFixtureOn(kind, production, {
        release: '1.1.0',
        home: oldHome,
        tenants: 1,
        users: 3,
        password: PASSWORD,
      });
      cleanups.add(fixture.dropStores);
      let stagingUrl = 'sqlite:repository/database/tessera.db';
      if (kind !== 'sqlite') {
        const staging = await cleanups.scratch(kind, 'staging');
        stagingUrl = staging.url;
      }
      const loaded = path.join(production.home, 'loaded.txt');
      const recorder = moduleRecorder(production.home);

      const upgrade = spawn(
        process.execPath,
        [
          '--import',
          recorder,
          CLI,
          ...upgradeArgs({ fromHome: oldHome, home: newHome, stagingUrl, checkLogin: `admin:${PASSWORD}` }),
        ],
        {
          env: { ...process.env, TESSERA_UPGRADE_CRASH_AT: 'smoke:serving', TESSERA_TEST_LOADED: loaded },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      upgrade.stdout.on('data', (chunk) => {
        output += chunk;
      });
      upgrade.stderr.on('data', (chunk) => {
        output += chunk;
      });
      const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
        upgrade.on('exit', (_code, killedBy) => resolve(killedBy)),
      );
      expect(signal, output).toBe('SIGKILL');

      // The smoke server was up in a process of its own when the upgrade died.
      const pid = Number(/answering at http:\/\/127\.0\.0\.1:\d+ \(process (\d+)\)/.exec(output)?.[1]);
      expect(pid, output).toBeGreaterThan(0);
      expect(pid).not.toBe(upgrade.pid);
      await waitFor('the orphaned server to stop', async () => (running(pid) ? undefined : true), 20_000);
      // It stopped as a node stops: its lock is gone, not merely left for a dead process.
      expect(probeNodeLocks(homeLayout(newHome))).toEqual([]);

      const modules = readFileSync(loaded, 'utf8').split('\n');
      expect(modules.some((url) => url.endsWith('/dist/upgrade/steps/smoke/smoke.js'))).toBe(true);
      expect(modules.filter((url) => url.includes('/dist/server/') || url.includes('/dist/http/'))).toEqual(
        [],
      );
    });
  },
);
