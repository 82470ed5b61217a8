import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { runCli, runCliInBackground } from '../helpers/cli.js';
import { waitFor } from '../helpers/cluster.js';
import type { TableRows } from '../helpers/rows.js';
import { callJson } from '../helpers/server.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';
import {
  expectMaintenanceRefusal,
  inMaintenance,
  login,
  startOnlineProduction,
  writeThrough,
} from './online-nodes.js';
import { ALICE, rowsOf } from './release-2.0.1.js';

/** The columns 2.1.0's scripts add to existing tables, null in every carried row. */
const NEW_COLUMNS: Record<string, readonly string[]> = { users: ['password_changed_at'] };
/** The online path's steps: the stopped-node path's nine and the freeze. */
const ONLINE_STEPS = [
  'plan',
  'preflight',
  'freeze',
  'backup',
  'stage',
  'migrate',
  'checkpoints',
  'configure',
  'smoke',
  'promote',
];
const LOGIN_EVERY_MS = 50;

/** The maintenance state and the nodes' acknowledgements: production's run-time state, not its data. */
const isMaintenanceRow = (row: string) => row.includes('["path","tessera:maintenance');

interface Attempt {
  at: number;
  node: number;
  status: number;
}

/**
 * Logs Alice in through each old node in turn every LOGIN_EVERY_MS until stopped: what a user of the old
 * cluster sees while it is upgraded.
 */
function loginLoop(urls: string[]): { stop(): Promise<Attempt[]> } {
  const attempts: Attempt[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const node = i % urls.length;
      const at = Date.now();
      const status = await login(urls[node] as string).then(
        (reply) => reply.status,
        () => 0,
      );
      attempts.push({ at, node, status });
      await new Promise((resolve) => setTimeout(resolve, LOGIN_EVERY_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return attempts;
    },
  };
}

describe('tessera upgrade on the online path, two real 2.0.1 nodes on PostgreSQL', () => {
  const cleanups = cleanupsAfterEach();

  it('freezes production while both nodes keep serving logins: none fails, writes get 503 MAINTENANCE until promote, every table carried row by row', async () => {
    const online = await startOnlineProduction(cleanups, 2);
    const { production, staging, oldHome, newHome, urls } = online;

    const dryRun = runCli([
      ...upgradeArgs({
        fromHome: oldHome,
        home: newHome,
        stagingUrl: staging.url,
        checkLogin: ALICE.join(':'),
      }),
      '--dry-run',
    ]);
    expect(dryRun.status, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toMatch(/Path: online: 2 node\(s\) of release 2\.0\.1, which has maintenance mode/);
    expect(dryRun.stdout).toContain('[freeze]');

    const logins = loginLoop(urls);
    const upgrade = runCliInBackground(
      upgradeArgs({ fromHome: oldHome, home: newHome, stagingUrl: staging.url, checkLogin: ALICE.join(':') }),
    );
    // Both old nodes learn of the freeze and refuse writes, with the upgrade's Retry-After.
    for (const [i, url] of urls.entries()) {
      await waitFor(
        `node ${i} in maintenance`,
        async () => ((await inMaintenance(url)) ? true : undefined),
        120_000,
      );
      expectMaintenanceRefusal(await writeThrough(url, `frozen-${i}`), '60');
    }
    const run = await upgrade;
    const attempts = await logins.stop();
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stderr).toContain('Path: online');

    // Not one login failed on either node, from before the upgrade started until after promote.
    expect(attempts.filter((a) => a.status !== 200)).toEqual([]);
    for (const node of urls.keys())
      expect(attempts.filter((a) => a.node === node).length).toBeGreaterThan(20);

    const journal = JSON.parse(runCli(['upgrade', 'report', '--home', newHome, '--json']).stdout);
    expect(journal.status).toBe('completed');
    expect(journal.plan.path).toMatchObject({ name: 'online' });
    expect(Object.keys(journal.steps)).toEqual(ONLINE_STEPS);
    expect(Object.values(journal.steps).map((s) => (s as { status: string }).status)).toEqual(
      Array(ONLINE_STEPS.length).fill('done'),
    );
    const { freeze } = journal;
    expect(freeze).toMatchObject({ generation: expect.any(Number), startedAt: expect.any(Number) });
    expect(freeze.ackedAt).toBeGreaterThanOrEqual(freeze.startedAt);
    expect(freeze.releasedAt).toBeUndefined();
    expect(journal.steps.freeze.details.nodes).toHaveLength(2);
    // The write window runs from the freeze to the new release answering.
    expect(Date.parse(journal.outage.startedAt)).toBe(freeze.startedAt);
    expect(journal.steps.stage.details).toMatchObject({
      leftOut: { columns: { cluster_nodes: ['last_heartbeat'] } },
      thaw: { nodeRowsRemoved: 2, acksRemoved: 2, maintenanceOffGeneration: freeze.generation + 1 },
    });
    const report = runCli(['upgrade', 'report', '--home', newHome]).stdout;
    expect(report).toContain('path online');
    expect(report).toMatch(/write window: [\d.]+ s so far \(from .*, production frozen/);

    // Production stays frozen after promote (it is retired: a write there would be lost). The old nodes
    // (2.0.1's code, unchanged) keep running on it: /readyz reads the schema as retired and answers 503, so a
    // load balancer checking it takes them out, but they still answer logins from the retired data.
    for (const [i, url] of urls.entries()) {
      expectMaintenanceRefusal(await writeThrough(url, `after-${i}`), '60');
      const ready = await callJson(url, 'GET', '/readyz');
      expect(ready).toMatchObject({
        status: 503,
        body: { ready: false, schema: 'retired', maintenance: true },
      });
      expect((await login(url)).status).toBe(200);
    }

    // Row by row: production's data is in staging as it was. Left aside: the schema history (2.1.0's row in
    // staging, the retirement in production), the old nodes' rows and acknowledgements and the freeze
    // itself (run-time state, taken out of staging), and 2.1.0's new columns and tables.
    const before = await rowsOf(production.url, oldHome);
    const after = await rowsOf(staging.url, newHome, NEW_COLUMNS);
    const data = (rows: TableRows, table: string) =>
      (rows[table] ?? []).filter((row) => !isMaintenanceRow(row));
    expect(before.cluster_nodes).toHaveLength(2);
    expect(after.cluster_nodes).toEqual([]);
    for (const table of Object.keys(before)) {
      if (table === 'tessera_schema_history' || table === 'cluster_nodes') continue;
      expect(data(after, table), table).toEqual(data(before, table));
    }
    // Only the state row is left in staging (switched off), the acknowledgements are gone.
    expect((after.registry_resources ?? []).filter(isMaintenanceRow)).toHaveLength(1);
  }, 420_000);
});
