import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { homeLayout, SUPER_TENANT_DOMAIN, SUPER_TENANT_ID, webappsFolder } from '../../src/home/layout.js';
import { inspectSchema } from '../../src/releases/guard.js';
import { journalPath } from '../../src/upgrade/journal.js';
import { readTree, treeDigest } from '../../src/upgrade/steps/configure/tree.js';
import type { AppCheck } from '../../src/upgrade/steps/smoke/app-checks.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { buildFixtureOn } from '../helpers/fixtures.js';
import { allRows, type TableRows } from '../helpers/rows.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';
import {
  EXITS_AT_IMPORT,
  FIXED_APP,
  THROWS_AT_IMPORT,
  writeLedgerApp,
  writeNodeApp,
} from './fixture-apps.js';
import { CLI, PASSWORD, UPGRADE_TIMEOUT_MS } from './upgrade-scenario.js';

/** The tenant holding the fixture's portal and docs.zip, and here ledger and quitter; tenant 3 is inactive. */
const APPS_TENANT_ID = 1;

interface World {
  production: ScratchDatabase;
  staging?: ScratchDatabase;
  stagingUrl: string;
  oldHome: string;
  newHome: string;
  mainUrl: string;
  appsTenant: string;
  inactiveTenant: string;
  dropStores: () => Promise<void>;
}

/**
 * A 1.1.0 home whose apps are the fixture's static ones, `ledger` (a node app with a health path and a
 * data folder), and two node apps that fail on the new release: `legacy-report` in the super tenant
 * throws while its entry loads, `quitter` in tenant 1 exits.
 */
async function world(kind: DatabaseKind): Promise<World> {
  const production = await scratchDatabase(kind, 'prod');
  const oldHome = path.join(production.home, 'old');
  const fixture = await buildFixtureOn(kind, production, {
    release: '1.1.0',
    home: oldHome,
    tenants: 3,
    users: 6,
    password: PASSWORD,
  });
  const layout = homeLayout(oldHome);
  writeLedgerApp(oldHome, APPS_TENANT_ID);
  writeNodeApp(webappsFolder(layout, SUPER_TENANT_ID), 'legacy-report', THROWS_AT_IMPORT, '/healthz');
  writeNodeApp(webappsFolder(layout, APPS_TENANT_ID), 'quitter', EXITS_AT_IMPORT);
  const domains = await withDatabase(fixture.summary.databaseUrl, oldHome, async (main) => {
    const rows = await sql<{ id: number; domain: string }>`select id, domain from tenants`.execute(main.db);
    return new Map(rows.rows.map((row) => [Number(row.id), row.domain]));
  });
  const staging = kind === 'sqlite' ? undefined : await scratchDatabase(kind, 'staging');
  return {
    production,
    staging,
    stagingUrl: staging?.url ?? 'sqlite:repository/database/tessera.db',
    oldHome,
    newHome: path.join(production.home, 'new'),
    mainUrl: fixture.summary.databaseUrl,
    appsTenant: domains.get(APPS_TENANT_ID) ?? '',
    inactiveTenant: domains.get(3) ?? '',
    dropStores: fixture.dropStores,
  };
}

async function withDatabase<T>(url: string, home: string, work: (db: Database<unknown>) => Promise<T>) {
  const database = await openDatabase<unknown>(url, home);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

function upgrade(w: World, extra: string[] = []) {
  const args = upgradeArgs({
    fromHome: w.oldHome,
    home: w.newHome,
    stagingUrl: w.stagingUrl,
    checkLogin: `admin:${PASSWORD}`,
  });
  return spawnSync(process.execPath, [CLI, ...args, ...extra], {
    encoding: 'utf8',
    timeout: UPGRADE_TIMEOUT_MS,
  });
}

interface Untouched {
  rows: TableRows;
  /** The old home's deployment and tenant folders: the apps' sources and data folders. */
  folders: string;
  schema: Awaited<ReturnType<typeof inspectSchema>>;
}

async function production(w: World): Promise<Untouched> {
  return withDatabase(w.mainUrl, w.oldHome, async (db) => {
    const layout = homeLayout(w.oldHome);
    const digests = [];
    for (const folder of [layout.deployment, layout.tenants]) {
      digests.push(treeDigest(await readTree(folder, { hash: true })));
    }
    return { rows: await allRows(db), folders: digests.join(' '), schema: await inspectSchema(db) };
  });
}

function journal(w: World) {
  return JSON.parse(readFileSync(journalPath(w.newHome), 'utf8'));
}

function appChecks(w: World): AppCheck[] {
  return journal(w).steps.smoke.details.apps.checked;
}

function check(checks: AppCheck[], tenant: string, name: string): AppCheck | undefined {
  return checks.find((c) => c.tenant === tenant && c.name === name);
}

// SQLite only: the apps are listed, started and called through the new release's API, the same on every
// engine; upgrade.e2e runs a node app through the smoke step on all three.
describe.each(['sqlite'] as const)('an upgrade whose home carries apps, on %s', (kind) => {
  let w: World;
  let before: Untouched;
  let first: ReturnType<typeof upgrade>;

  beforeAll(async () => {
    w = await world(kind);
    before = await production(w);
    first = upgrade(w);
  }, UPGRADE_TIMEOUT_MS + 60_000);
  afterAll(async () => {
    if (!w) return;
    await w.dropStores().catch(() => {});
    await w.staging?.drop();
    await w.production.drop();
  });

  it('starts every app of every active tenant; an app that fails stops the upgrade before promote', async () => {
    expect(first.status, first.stdout).toBe(1);
    const stderr = first.stderr;
    expect(stderr).toMatch(/Smoke test: 2 apps do not start on Tessera \d+\.\d+\.\d+/);
    expect(stderr).toContain(
      `${SUPER_TENANT_DOMAIN}/legacy-report (node): cannot load server.mjs: Error: legacy-report needs the 1.x registry API, gone in this release`,
    );
    expect(stderr).toContain(`${w.appsTenant}/quitter (node): exited with code 3`);
    expect(stderr).toContain('--allow-app-failures');
    expect(stderr).toContain(path.join('repository', 'tenants', String(APPS_TENANT_ID), 'webapps'));

    const recorded = journal(w);
    expect(recorded.steps.smoke.status).toBe('failed');
    expect(recorded.steps.promote.status).toBe('pending');
    // Everything the smoke test made is gone again, the apps' checks failing or not.
    expect(recorded.steps.smoke.details.verified.leftovers).toEqual([]);
    const { apps } = recorded.steps.smoke.details;
    expect(apps.failuresAllowed).toBe(false);
    expect(apps.inactiveTenants).toEqual([w.inactiveTenant]);
    const checks: AppCheck[] = apps.checked;
    expect(checks.map((c) => `${c.tenant}/${c.name}`).sort()).toEqual(
      [
        `${SUPER_TENANT_DOMAIN}/hello`,
        `${SUPER_TENANT_DOMAIN}/legacy-report`,
        `${w.appsTenant}/docs`,
        `${w.appsTenant}/ledger`,
        `${w.appsTenant}/portal`,
        `${w.appsTenant}/quitter`,
      ].sort(),
    );
    expect(check(checks, SUPER_TENANT_DOMAIN, 'hello')).toMatchObject({
      runtime: 'static',
      state: 'deployed',
      path: '/hello/',
      httpStatus: 200,
      ok: true,
    });
    // Login-protected: Tessera's sign-in answers, which is no failure of a static app.
    expect(check(checks, w.appsTenant, 'portal')).toMatchObject({ httpStatus: 401, ok: true });
    // ledger read its data folder while it loaded: configure carried it.
    expect(check(checks, w.appsTenant, 'ledger')).toMatchObject({
      runtime: 'node',
      state: 'running',
      path: `/t/${w.appsTenant}/ledger/healthz`,
      httpStatus: 200,
      ok: true,
    });
    const legacy = check(checks, SUPER_TENANT_DOMAIN, 'legacy-report');
    expect(legacy).toMatchObject({ runtime: 'node', state: 'error', ok: false });
    expect(legacy?.httpStatus).toBeUndefined();
    expect(legacy?.errorLines?.join('\n')).toContain('Error: legacy-report needs the 1.x registry API');
    expect(check(checks, w.appsTenant, 'quitter')).toMatchObject({ state: 'error', ok: false });

    const after = await production(w);
    expect(after.schema).toEqual(before.schema);
    expect(after.rows).toEqual(before.rows);
    expect(after.folders).toBe(before.folders);
  });

  it('checks the apps again on --resume, and goes on once the failing one is fixed in the new home', async () => {
    // The operator fixes quitter in the new home (configure does not copy the old home again).
    writeFileSync(
      path.join(webappsFolder(homeLayout(w.newHome), APPS_TENANT_ID), 'quitter', 'server.mjs'),
      FIXED_APP,
    );
    const second = upgrade(w, ['--resume']);
    expect(second.status, second.stdout).toBe(1);
    expect(second.stderr).toMatch(
      /Smoke test: 1 app does not start on Tessera .*: carbon\.super\/legacy-report/,
    );
    expect(check(appChecks(w), w.appsTenant, 'quitter')).toMatchObject({
      state: 'running',
      httpStatus: 200,
      ok: true,
    });
    expect(journal(w).steps.promote.status).toBe('pending');
    const after = await production(w);
    expect(after.rows).toEqual(before.rows);
    expect(after.schema).toEqual(before.schema);
  });

  it('promotes with --allow-app-failures, the failing app recorded as a warning', async () => {
    const third = upgrade(w, ['--resume', '--allow-app-failures']);
    expect(third.status, third.stderr).toBe(0);
    // The step's summary is progress, on stderr; stdout has the report.
    expect(third.stderr).toMatch(/warn app carbon\.super\/legacy-report \(node\): error/);
    const recorded = journal(w);
    expect(recorded.status).toBe('completed');
    expect(recorded.steps.smoke.details.apps.failuresAllowed).toBe(true);
    expect(recorded.events.map((e: { message: string }) => e.message)).toContainEqual(
      expect.stringMatching(
        /^warning: carbon\.super\/legacy-report \(node\): cannot load server\.mjs: Error: legacy-report/,
      ),
    );
    expect((await production(w)).schema.status).toBe('retired');

    const report = spawnSync(process.execPath, [CLI, 'upgrade', 'report', '--home', w.newHome], {
      encoding: 'utf8',
    });
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toMatch(
      /apps checked on the new release: 6 in [\d.]+ s, 1 did not start, let through by --allow-app-failures/,
    );
    expect(report.stdout).toContain(
      `ok   ${w.appsTenant}/ledger (node): running, GET /t/${w.appsTenant}/ledger/healthz 200`,
    );
    expect(report.stdout).toMatch(/warn carbon\.super\/legacy-report \(node\): error/);
  });
});
