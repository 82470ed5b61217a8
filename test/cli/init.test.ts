import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { DEFAULT_DATABASE_URL } from '../../src/config/schema.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { homeLayout, SUPER_TENANT_ID, userstoresFolder, webappsFolder } from '../../src/home/layout.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { CLI, ensureBuilt } from '../helpers/cluster.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { type NodeProcess, startNodeProcess } from '../helpers/node-process.js';

const cleanups = cleanupsAfterEach();

beforeAll(() => {
  ensureBuilt();
});

/**
 * A new home folder and the `--db` to init it with: none on SQLite (the embedded default, in the home),
 * a fresh scratch database on a server otherwise.
 */
async function newHome(kind: DatabaseKind, label: string): Promise<{ home: string; db: string[] }> {
  const database = await cleanups.scratch(kind, label);
  return { home: path.join(database.home, 'home'), db: kind === 'sqlite' ? [] : ['--db', database.url] };
}

/** The built CLI, with TESSERA_ADMIN_PASSWORD set to `adminPassword` or removed. */
function tessera(args: string[], adminPassword?: string): SpawnSyncReturns<string> {
  const env = { ...process.env };
  delete env.TESSERA_ADMIN_PASSWORD;
  if (adminPassword !== undefined) env.TESSERA_ADMIN_PASSWORD = adminPassword;
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 120_000 });
}

function generatedPassword(stdout: string): string {
  const match = /^ {2}password: (\S+)$/m.exec(stdout);
  expect(match, stdout).not.toBeNull();
  return (match as RegExpExecArray)[1] as string;
}

async function startNode(home: string): Promise<NodeProcess> {
  const node = await startNodeProcess(home);
  cleanups.add(() => node.kill());
  return node;
}

/** POST /api/v1/authenticate's status for the super tenant's `admin`. */
async function adminLogin(node: NodeProcess, password: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${node.port}/api/v1/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  return response.status;
}

describe('tessera init', () => {
  for (const kind of DATABASE_KINDS) {
    it(`${kind}: lays out a new home, writes the config and creates the database with the admin from TESSERA_ADMIN_PASSWORD`, async () => {
      const { home, db } = await newHome(kind, 'init');
      const init = tessera(['init', '--home', home, ...db], 'chosen-admin-pw');
      expect(init.status, init.stderr).toBe(0);
      // A chosen password is not shown.
      expect(init.stdout).not.toContain('password:');
      expect(init.stdout).not.toContain('chosen-admin-pw');

      const layout = homeLayout(home);
      for (const folder of [
        layout.database,
        layout.logs,
        layout.backups,
        layout.work,
        layout.tenants,
        webappsFolder(layout, SUPER_TENANT_ID),
        userstoresFolder(layout, SUPER_TENANT_ID),
      ]) {
        expect(statSync(folder).mode & 0o777, folder).toBe(0o700);
      }
      expect(statSync(layout.configFile).mode & 0o777).toBe(0o600);
      const config = loadConfigFile(layout.configFile);
      expect(config.database.url).toBe(kind === 'sqlite' ? DEFAULT_DATABASE_URL : db[1]);
      expect(existsSync(path.join(layout.database, 'tessera.db'))).toBe(kind === 'sqlite');

      const status = tessera(['status', '--home', home, '--json']);
      expect(status.status, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ database: kind, state: 'current', matches: true });

      // Nothing left to do for a start: the admin from init logs in (the start's own variable is ignored).
      const node = await startNode(home);
      expect(await adminLogin(node, 'chosen-admin-pw')).toBe(200);
      expect(await adminLogin(node, 'wrong-pw')).toBe(401);
    }, 120_000);
  }

  it('prints a generated password once, which logs in; a second init is refused with exit 2', async () => {
    // What init prints does not depend on the engine, which the test above covers for each.
    const kind = 'sqlite';
    const { home, db } = await newHome(kind, 'init_gen');
    const init = tessera(['init', '--home', home, ...db]);
    expect(init.status, init.stderr).toBe(0);
    const password = generatedPassword(init.stdout);
    expect(init.stdout.split(password)).toHaveLength(2);

    const again = tessera(['init', '--home', home, ...db]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('is already a Tessera home');
    expect(again.stderr).toMatch(/\n {2}next: .*tessera start --home/);
    expect(again.stdout).not.toContain('password:');

    const node = await startNode(home);
    expect(await adminLogin(node, password)).toBe(200);
  }, 120_000);

  for (const kind of DATABASE_KINDS) {
    it(`${kind}: a new home on a database that is not empty is refused with exit 2 and nothing is written`, async () => {
      const first = await newHome(kind, 'init_used');
      expect(tessera(['init', '--home', first.home, ...first.db], 'pw-1').status).toBe(0);
      // Another home on the first one's database.
      const other = path.join(path.dirname(first.home), 'other');
      const db =
        kind === 'sqlite' ? `sqlite:${path.join(first.home, 'repository/database/tessera.db')}` : first.db[1];
      const refused = tessera(['init', '--home', other, '--db', db as string], 'pw-2');
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('already holds a Tessera database at schema level');
      expect(refused.stderr).toContain('next: Pass --db with a new, empty database.');
      expect(existsSync(other)).toBe(false);
    }, 120_000);
  }

  for (const kind of DATABASE_KINDS) {
    it(`${kind}: an import into an init-ed home says the admin password changed, and the exported one logs in`, async () => {
      const source = await newHome(kind, 'init_src');
      expect(tessera(['init', '--home', source.home, ...source.db], 'exported-admin-pw').status).toBe(0);
      const bundle = path.join(path.dirname(source.home), 'bundle.tar.gz');
      const exported = tessera(['export', '--home', source.home, '--out', bundle]);
      expect(exported.status, exported.stderr).toBe(0);

      const target = await newHome(kind, 'init_dst');
      const init = tessera(['init', '--home', target.home, ...target.db]);
      expect(init.status, init.stderr).toBe(0);
      const generated = generatedPassword(init.stdout);

      const imported = tessera(['import', '--home', target.home, '--in', bundle]);
      expect(imported.status, imported.stderr).toBe(0);
      expect(imported.stdout).toContain(
        "The super tenant's admin now has the password it had in the exported home; the password generated (or set through TESSERA_ADMIN_PASSWORD) when this home was created no longer works.",
      );

      const node = await startNode(target.home);
      expect(await adminLogin(node, 'exported-admin-pw')).toBe(200);
      expect(await adminLogin(node, generated)).toBe(401);
    }, 180_000);
  }
});
