import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_FORMAT } from '../../src/config/keys.js';
import type { DatabaseKind } from '../../src/db/url.js';
import {
  CURRENT_RELEASE,
  CURRENT_SCHEMA_LEVEL,
  getRelease,
  releaseSchemaLevel,
} from '../../src/releases/matrix.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { runCli } from '../helpers/cli.js';
import { ensureBuilt } from '../helpers/cluster.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { buildRelease } from '../helpers/release-build.js';
import { initReleaseHome } from '../helpers/release-home.js';
import { callJson } from '../helpers/server.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';
import { ALICE, BOB, DOMAIN, FROM, populateThroughApi, rowsOf, TENANT_ADMIN } from './release-2.0.1.js';
import { UPGRADE_TIMEOUT_MS } from './upgrade-scenario.js';

/** The tables 2.1.0's scripts add; the upgrade records the home's apps in the three app-version ones. */
const NEW_TABLES = [
  'app_sessions',
  'login_failures',
  'oidc_clients',
  'oidc_keys',
  'oidc_payloads',
  'tenant_settings',
  'totp_authenticators',
  'totp_recovery_codes',
  'webapp_version_chunks',
  'webapp_versions',
  'webapps',
];
/** The columns 2.1.0's scripts add to existing tables, null in every carried row. */
const NEW_COLUMNS: Record<string, readonly string[]> = { users: ['password_changed_at'] };
/** The steps of a staged upgrade, all of which must end `done`. */
const STEP_COUNT = 9;

// PostgreSQL only: a real old release costs its build and its node's start (35-50 s a run on a shared
// machine), and what differs by engine in an upgrade (copy, scripts without transactional DDL) is run on all
// three by upgrade.e2e and upgrade-resume.e2e from the frozen fixtures.
describe.each<DatabaseKind>(['postgres'])(`tessera upgrade from a real ${FROM} node, on %s`, (kind) => {
  const cleanups = cleanupsAfterEach();

  // Its timeout covers building 2.0.1 when no other test file has cached it yet (see previous-release.e2e),
  // the old node's life and the upgrade's UPGRADE_TIMEOUT_MS.
  it(`carries what ${FROM}'s API wrote to ${CURRENT_RELEASE}: every table equal, the app recorded as version 1, keep_versions added, users and app served`, async () => {
    ensureBuilt();
    const built = buildRelease(FROM, getRelease(FROM).source?.commit ?? '');
    const production = await cleanups.scratch(kind, 'from201');
    const staging = await cleanups.scratch(kind, 'staging201');
    const oldHome = path.join(production.home, 'old');
    const newHome = path.join(production.home, 'new');

    // A 2.0.1 node on a home its own init laid out, given its data through its API, then stopped.
    initReleaseHome(built, oldHome, production.url);
    const old = await startNodeProcess(oldHome, built.cli);
    cleanups.add(() => old.kill());
    await populateThroughApi(`http://127.0.0.1:${old.port}`);
    await old.stop();
    const before = await rowsOf(production.url, oldHome);
    expect(before.users?.length).toBe(4); // both admins, alice and bob
    expect(before.webapps).toBeUndefined();

    const run = runCli(
      upgradeArgs({
        fromHome: oldHome,
        home: newHome,
        stagingUrl: staging.url,
        checkLogin: ALICE.join(':'),
      }),
      { timeoutMs: UPGRADE_TIMEOUT_MS },
    );
    expect(run.status, run.stderr).toBe(0);
    // The plan names production by its schema level: a 2.0.1 database is at 2.0.0's, and nothing in it tells
    // which of the two ran on it once its nodes stopped (their rows go with them).
    expect(run.stdout).toContain(`${releaseSchemaLevel(FROM)} -> ${CURRENT_RELEASE} via ${CURRENT_RELEASE}`);

    const report = runCli(['upgrade', 'report', '--home', newHome, '--json']);
    expect(report.status, report.stderr).toBe(0);
    const journal = JSON.parse(report.stdout);
    expect(journal.status).toBe('completed');
    const steps = Object.values(journal.steps) as { status: string }[];
    expect(steps.map((step) => step.status)).toEqual(Array(STEP_COUNT).fill('done'));
    expect(journal.steps.configure.details.report).toContainEqual({
      kind: 'defaulted',
      hop: '2.0 -> 2.1',
      key: 'deployment.keep_versions',
      value: '5',
      note: expect.stringContaining('new in 2.1'),
    });
    const config = readFileSync(path.join(newHome, 'conf', 'tessera.toml'), 'utf8');
    expect(config).toContain(`format = "${CONFIG_FORMAT}"`);
    expect(config).toMatch(/^keep_versions = 5$/m);
    expect(config).toMatch(/^heartbeat_seconds = 1$/m); // the operator's value, carried

    // Row by row: every table production had is in staging as it was (2.1.0's new columns aside, null in
    // every row); 2.1.0's scripts add their history row and five tables, and the upgrade records the one
    // app as its version 1, nothing else.
    const after = await rowsOf(staging.url, newHome);
    const afterWithoutNewColumns = await rowsOf(staging.url, newHome, NEW_COLUMNS);
    expect(Object.keys(after).sort()).toEqual([...Object.keys(before), ...NEW_TABLES].sort());
    expect(after.login_failures).toEqual([]);
    expect(after.tenant_settings).toEqual([]);
    expect(after.webapps?.length).toBe(1);
    expect(after.webapp_versions?.[0]).toContain('["deployed_by","tessera upgrade"]');
    expect(after.webapp_versions?.[0]).toContain('["name","storefront"]');
    for (const row of after.users ?? []) expect(row).toContain('["password_changed_at",null]');
    for (const [table, rows] of Object.entries(before)) {
      if (table === 'tessera_schema_history') continue;
      expect(afterWithoutNewColumns[table], table).toEqual(rows);
    }
    const history = after.tessera_schema_history ?? [];
    expect(history.filter((row) => !before.tessera_schema_history?.includes(row))).toEqual([
      expect.stringContaining(`["version","${CURRENT_SCHEMA_LEVEL}"]`),
    ]);
    expect(history).toEqual(expect.arrayContaining(before.tessera_schema_history ?? []));

    // A 2.1.0 node on the new home: its users log in with their roles, the app and the resource are there.
    const node = await startNodeProcess(newHome);
    cleanups.add(() => node.kill());
    const url = `http://127.0.0.1:${node.port}`;
    expect((await callJson(url, 'GET', '/readyz')).body).toMatchObject({
      ready: true,
      release: CURRENT_RELEASE,
    });
    for (const [user, roles] of [
      [ALICE, ['buyers']],
      [BOB, ['buyers', 'editors']],
    ] as const) {
      const login = await callJson(url, 'POST', '/api/v1/authenticate', {
        body: { username: user[0], password: user[1] },
      });
      expect(login.status, user[0]).toBe(200);
      expect(login.body).toMatchObject({ tenant: DOMAIN, user: user[0].split('@')[0] });
      expect([...(login.body as { roles: string[] }).roles].sort()).toEqual([...roles]);
    }
    expect(
      (
        await callJson(url, 'POST', '/api/v1/authenticate', {
          body: { username: ALICE[0], password: 'wrong' },
        })
      ).status,
    ).toBe(401);
    const app = await fetch(`${url}/t/${DOMAIN}/storefront/`);
    expect(app.status).toBe(200);
    expect(await app.text()).toContain('Storefront of 2.0.1');
    const resource = await callJson(
      url,
      'GET',
      `/api/v1/tenants/${DOMAIN}/registry/resources/catalog/spring`,
      {
        as: TENANT_ADMIN,
      },
    );
    expect(resource).toMatchObject({ status: 200 });
  }, 300_000);
});
