import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_FORMAT } from '../../src/config/keys.js';
import { openDatabase } from '../../src/db/connection.js';
import { inspectSchema } from '../../src/releases/guard.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { startServer } from '../../src/server/start.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { LEDGER_DATA } from './fixture-apps.js';
import {
  CLI,
  cleanup,
  expectUpgraded,
  PASSWORD,
  type Scenario,
  scenario,
  upgrade,
} from './upgrade-scenario.js';

describe.each(DATABASE_KINDS)('tessera upgrade on %s', (kind) => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await cleanup(s);
    s = undefined;
  });

  it.each(['1.0.0', '1.1.0'])(
    `upgrades a %s fixture to ${CURRENT_RELEASE}: every table equal, production retired, new home serving`,
    async (release) => {
      s = await scenario(kind, release, { nodeApp: true });
      const result = upgrade(s);
      expect(result.stderr + result.stdout).not.toMatch(/Error:/);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/outage: \d/);
      await expectUpgraded(s);

      const report = spawnSync(process.execPath, [CLI, 'upgrade', 'report', '--home', s.newHome, '--json'], {
        encoding: 'utf8',
      });
      const journal = JSON.parse(report.stdout);
      expect(journal.status).toBe('completed');
      expect(Object.values(journal.steps).map((step) => (step as { status: string }).status)).toEqual(
        Array(9).fill('done'),
      );
      expect(journal.outage.durationMs).toBeGreaterThan(0);
      // The smoke step started every app of the new home: the fixture's static ones and the node app.
      const apps = journal.steps.smoke.details.apps.checked as {
        name: string;
        tenant: string;
        ok: boolean;
      }[];
      expect(apps.filter((app) => !app.ok)).toEqual([]);
      expect(apps.map((app) => app.name).sort()).toEqual(['docs', 'hello', 'ledger', 'portal']);
      const ledger = apps.find((app) => app.name === 'ledger');

      const production = await openDatabase<unknown>(
        kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : s.production.url,
        s.oldHome,
      );
      expect((await inspectSchema(production)).status).toBe('retired');
      await production.close();
      await expect(startServer({ home: s.oldHome, port: 0, stdoutLogs: false })).rejects.toThrow();

      const server = await startServer({
        home: s.newHome,
        port: 0,
        host: '127.0.0.1',
        stdoutLogs: false,
        logLevel: 'warn',
      });
      try {
        const login = await fetch(`${server.url}/api/v1/authenticate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'admin', password: PASSWORD }),
        });
        expect(login.status).toBe(200);
        expect((await fetch(`${server.url}/hello/`)).status).toBe(200);
        // The node app serves on the new home, its data folder carried from the old one.
        const data = await fetch(`${server.url}/t/${ledger?.tenant}/ledger/data`);
        expect(await data.text()).toBe(LEDGER_DATA);
      } finally {
        await server.close();
      }
      expect(readFileSync(path.join(s.newHome, 'conf', 'tessera.toml'), 'utf8')).toContain(
        `format = "${CONFIG_FORMAT}"`,
      );
    },
  );
});
