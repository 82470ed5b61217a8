import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/cluster.js';
import type { TableRows } from '../helpers/rows.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';
import {
  expectMaintenanceRefusal,
  inMaintenance,
  startOnlineProduction,
  writeThrough,
} from './online-nodes.js';
import { ALICE, rowsOf } from './release-2.0.1.js';
import { UPGRADE_TIMEOUT_MS } from './upgrade-scenario.js';

/** Production's run-time state: the maintenance row and acknowledgements, the node's heartbeat. */
const RUN_TIME: Record<string, readonly string[]> = { cluster_nodes: ['last_heartbeat'] };
const data = (rows: TableRows) =>
  Object.fromEntries(
    Object.entries(rows).map(([table, list]) => [
      table,
      list.filter((row) => !row.includes('["path","tessera:maintenance')),
    ]),
  );

describe('tessera upgrade --abort of an online upgrade that did not finish, a real 2.0.1 node on PostgreSQL', () => {
  const cleanups = cleanupsAfterEach();

  it('killed mid-stage, then failed at smoke: production stays frozen until --abort takes it out (writes through the old node succeed again), its data as it was; --resume refused', async () => {
    const { production, staging, oldHome, newHome, urls } = await startOnlineProduction(cleanups, 1);
    const url = urls[0] as string;
    const args = upgradeArgs({
      fromHome: oldHome,
      home: newHome,
      stagingUrl: staging.url,
      checkLogin: ALICE.join(':'),
    });
    const before = data(await rowsOf(production.url, oldHome, RUN_TIME));

    // kill -9 in the middle of the copy, production frozen.
    const killed = runCli(args, {
      env: { TESSERA_UPGRADE_CRASH_AT: 'stage:table' },
      timeoutMs: UPGRADE_TIMEOUT_MS,
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(await inMaintenance(url)).toBe(true);
    expectMaintenanceRefusal(await writeThrough(url, 'while-killed'), '60');

    // Resumed, it fails later (the smoke test cannot log in with a wrong password): production stays frozen,
    // and the message says how to go on or end it.
    const failed = runCli(
      [...args.filter((arg) => arg !== ALICE.join(':')), 'alice@shop.example:wrong', '--resume'],
      { timeoutMs: UPGRADE_TIMEOUT_MS },
    );
    expect(failed.status, failed.stdout).toBe(1);
    expect(failed.stderr).toContain('Production stays in maintenance');
    expect(failed.stderr).toContain('--resume');
    expect(failed.stderr).toContain(`tessera upgrade --abort --home ${newHome}`);
    expect(await inMaintenance(url)).toBe(true);

    const abort = runCli(['upgrade', '--abort', '--home', newHome]);
    expect(abort.status, abort.stderr).toBe(0);
    expect(abort.stdout).toContain('left maintenance');
    expect(abort.stdout).toContain('--resume is refused');
    expect(abort.stdout).toContain('drop the staging database');

    // The node reads the state within a heartbeat period (1 s here): then it takes writes again.
    await waitFor('the old node out of maintenance', async () =>
      (await inMaintenance(url)) ? undefined : true,
    );
    expect(data(await rowsOf(production.url, oldHome, RUN_TIME))).toEqual(before);
    expect(await writeThrough(url, 'after-abort')).toMatchObject({ status: 201 });

    const journal = JSON.parse(runCli(['upgrade', 'report', '--home', newHome, '--json']).stdout);
    expect(journal.status).toBe('aborted');
    expect(journal.freeze.releasedAt).toBeGreaterThanOrEqual(journal.freeze.startedAt);
    // The resume copied the rest of staging (the tables not done, on the schema the first attempt built).
    expect(journal.steps.stage).toMatchObject({ status: 'done', attempts: 2 });
    expect(journal.steps.smoke.status).toBe('failed');

    const resume = runCli([...args, '--resume']);
    expect(resume.status).toBe(2);
    expect(resume.stderr).toMatch(/was aborted .*; it cannot be resumed/);
    // Nothing was frozen again by the refused resume.
    expect(await inMaintenance(url)).toBe(false);
  }, 300_000);

  it('stops a resume once production left the freeze by hand (writes may have reached it since the copy), and --abort then says it was already out', async () => {
    const { oldHome, newHome, staging, urls, oldCli } = await startOnlineProduction(cleanups, 1);
    const args = upgradeArgs({
      fromHome: oldHome,
      home: newHome,
      stagingUrl: staging.url,
      checkLogin: ALICE.join(':'),
    });
    const killed = runCli(args, {
      env: { TESSERA_UPGRADE_CRASH_AT: 'stage:table' },
      timeoutMs: UPGRADE_TIMEOUT_MS,
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    // An operator switches maintenance off with 2.0.1's own command.
    const off = spawnSync(process.execPath, [oldCli, 'maintenance', 'off', '--home', oldHome], {
      encoding: 'utf8',
    });
    expect(off.status, off.stderr).toBe(0);
    await waitFor('the old node out of maintenance', async () =>
      (await inMaintenance(urls[0] as string)) ? undefined : true,
    );

    const resume = runCli([...args, '--resume'], { timeoutMs: UPGRADE_TIMEOUT_MS });
    expect(resume.status, resume.stdout).toBe(2);
    expect(resume.stderr).toContain("Production left this upgrade's freeze");
    expect(resume.stderr).toContain(`tessera upgrade --abort --home ${newHome}`);
    expect(resume.stderr).not.toContain('Production stays in maintenance');
    const report = runCli(['upgrade', 'report', '--home', newHome]).stdout;
    expect(report).toMatch(/stage +failed/);
    expect(report).toContain("Production left this upgrade's freeze");

    const abort = runCli(['upgrade', '--abort', '--home', newHome]);
    expect(abort.status, abort.stderr).toBe(0);
    expect(abort.stdout).toContain('was already out of maintenance');
  }, 300_000);
});
