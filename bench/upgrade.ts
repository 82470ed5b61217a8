/**
 * bench/upgrade — issue 4's one command. For each engine: a 1.0.0 fixture (built, or reused with
 * `--reuse DIR`), then on that same data Tessera's stage step against the engine's own dump-and-restore
 * tools (bench/stage-runs.ts), then the whole `tessera upgrade` 1.0.0 -> current as a child process, with
 * each step's time, the measured outage and the child's peak RSS. Prints Markdown tables with ratios.
 * Run: npm run bench:upgrade [-- --users 1000000 --tenants 1000 --engines sqlite,postgres,mysql
 *      --reuse /var/tmp/tessera-bench --cross-cluster yes]
 * Needs the local PostgreSQL and MariaDB (as the tests do); whatever it creates is dropped at the end,
 * except a fixture kept for `--reuse`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, dropDatabase } from '../src/db/connection.js';
import type { DatabaseKind } from '../src/db/url.js';
import { Journal, journalPath, stepRecord } from '../src/upgrade/journal.js';
import { STEP_NAMES, STEPS_IN_ORDER } from '../src/upgrade/steps/index.js';
import { migrateStep } from '../src/upgrade/steps/migrate/migrate.js';
import { promoteStep } from '../src/upgrade/steps/promote/promote.js';
import { smokeStep } from '../src/upgrade/steps/smoke/smoke.js';
import { stageStep } from '../src/upgrade/steps/stage/stage.js';
import { upgradeArgs } from '../test/helpers/upgrade-args.js';
import { type BenchFixture, benchFixture } from './fixture.js';
import { BENCH_SERVERS, benchArgs, CLI, fixtureOptions } from './options.js';
import { compareStage, type StageComparison } from './stage-runs.js';

const args = benchArgs();
const {
  users: USERS,
  tenants: TENANTS,
  engines: ENGINES,
} = fixtureOptions(args, {
  users: 1_000_000,
  tenants: 1_000,
});
const REUSE = args.get('reuse');
const CROSS_CLUSTER = (args.get('cross-cluster') ?? 'yes') !== 'no';

interface UpgradeRun {
  seconds: number;
  outageSeconds: number;
  steps: Record<string, number>;
  migrateHops: { release: string; seconds: number }[];
  stageMethod: string;
  peakRssMb: number;
  /** The process's peak RSS after each step (MB), from the journal: where memory grew. */
  rssAfter: Record<string, number>;
  /** The peak RSS of the servers smoke and promote start in child processes (MB), from the journal. */
  childPeakRssMb: number;
}

/** The whole upgrade as operators run it (the CLI, non-interactive), timed from outside and from its journal. */
async function upgradeRun(fixture: BenchFixture): Promise<UpgradeRun> {
  const work = mkdtempSync(path.join(os.tmpdir(), `tessera-bench-upgrade-${fixture.kind}-`));
  const newHome = path.join(work, 'new');
  const stagingUrl =
    fixture.kind === 'sqlite'
      ? 'sqlite:repository/database/tessera.db'
      : `${BENCH_SERVERS[fixture.kind]}/tessera_bench_staging_${path
          .basename(work)
          .slice(-6)
          .toLowerCase()
          .replace(/[^a-z0-9]/g, '')}`;
  try {
    if (fixture.kind !== 'sqlite') await createDatabase(stagingUrl, work);
    const started = performance.now();
    // GNU time prints the child's peak resident set (KiB) as the last line of stderr.
    const result = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        '%M',
        process.execPath,
        CLI,
        ...upgradeArgs({
          fromHome: fixture.oldHome,
          home: newHome,
          stagingUrl,
          checkLogin: 'admin:bench-pw',
        }),
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const seconds = (performance.now() - started) / 1000;
    if (result.status !== 0) throw new Error(`tessera upgrade failed (${result.status}): ${result.stderr}`);
    const peakKib = Number(result.stderr.trim().split('\n').at(-1));
    const journal = Journal.load(journalPath(newHome)).data;
    const steps = Object.fromEntries(
      STEPS_IN_ORDER.map((step) => [step.name, (stepRecord(journal, step).durationMs ?? 0) / 1000]),
    );
    const migrate = stepRecord(journal, migrateStep).details ?? {};
    return {
      seconds,
      outageSeconds: (journal.outage?.durationMs ?? 0) / 1000,
      steps,
      migrateHops: (migrate.hops ?? []).map((h) => ({ release: h.release, seconds: h.durationMs / 1000 })),
      stageMethod: String(stepRecord(journal, stageStep).details?.method ?? ''),
      peakRssMb: peakKib / 1024,
      rssAfter: Object.fromEntries(
        // The runner adds `peakRssMb` to every step's details: read from the record as written.
        STEP_NAMES.map((name) => [name, Number(journal.steps[name]?.details?.peakRssMb ?? 0)]),
      ),
      childPeakRssMb: Math.max(
        0,
        Number(stepRecord(journal, smokeStep).details?.childPeakRssMb ?? 0),
        Number(stepRecord(journal, promoteStep).details?.childPeakRssMb ?? 0),
      ),
    };
  } finally {
    if (fixture.kind !== 'sqlite') await dropDatabase(stagingUrl, work).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

function stageTable(kind: DatabaseKind, comparison: StageComparison): string {
  const lines = ['| engine | run | seconds | Tessera / run | goal |', '|---|---|---|---|---|'];
  for (const row of comparison.rows) {
    const tessera = row.versus ?? comparison.tessera.seconds;
    const ratio = row.what.startsWith('Tessera') ? '' : (tessera / row.seconds).toFixed(2);
    const verdict =
      row.goal && ratio
        ? ` — ${Number(ratio) <= Number(row.goal.replace(/[^0-9.]/g, '')) ? 'met' : 'missed'}`
        : '';
    const what = `${row.what}${row.note ? ` (${row.note})` : ''}`.replaceAll('|', '\\|');
    lines.push(`| ${kind} | ${what} | ${row.seconds.toFixed(2)} | ${ratio} | ${row.goal ?? ''}${verdict} |`);
  }
  return lines.join('\n');
}

function upgradeTable(runs: [DatabaseKind, UpgradeRun][]): string {
  // `time -f %M` reports the largest of the process and the children it waited for; the journal tells them apart.
  const head = [
    'engine',
    'upgrade (wall)',
    'outage',
    ...STEP_NAMES,
    'migrate per hop',
    'peak RSS (time)',
    'upgrade process',
    'server child',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [kind, run] of runs) {
    lines.push(
      `| ${[
        kind,
        `${run.seconds.toFixed(1)} s`,
        `${run.outageSeconds.toFixed(1)} s`,
        ...STEP_NAMES.map((name) => (run.steps[name] ?? 0).toFixed(2)),
        run.migrateHops.map((h) => `${h.release} ${h.seconds.toFixed(2)} s`).join(', '),
        `${run.peakRssMb.toFixed(0)} MB`,
        `${Math.max(...Object.values(run.rssAfter)).toFixed(0)} MB`,
        `${run.childPeakRssMb.toFixed(0)} MB`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

process.stdout.write(
  `bench/upgrade: 1.0.0 fixtures of ${USERS.toLocaleString('en')} users (3 attributes each) across ${TENANTS.toLocaleString('en')} tenants, ${os.availableParallelism()} cores, Node ${process.version}\n`,
);
const upgrades: [DatabaseKind, UpgradeRun][] = [];
for (const kind of ENGINES) {
  const fixture = await benchFixture(kind, { users: USERS, tenants: TENANTS }, REUSE);
  try {
    process.stdout.write(
      `\n## ${kind}\n\nfixture: ${fixture.buildSeconds === undefined ? `reused from ${fixture.oldHome}` : `built in ${fixture.buildSeconds.toFixed(1)} s`}\n\n`,
    );
    const comparison = await compareStage(kind, fixture, { crossCluster: CROSS_CLUSTER });
    process.stdout.write(`${stageTable(kind, comparison)}\n\n`);
    process.stdout.write(
      `Tessera stage in-process peak RSS ${comparison.maxRssMb.toFixed(0)} MB (the bench process's peak before the step: ${comparison.rssBeforeMb.toFixed(0)} MB)\n\n`,
    );
    const run = await upgradeRun(fixture);
    upgrades.push([kind, run]);
    process.stdout.write(
      `${upgradeTable([[kind, run]])}\n\nstage method: ${run.stageMethod}\npeak RSS after each step (MB): ${STEP_NAMES.map((name) => `${name} ${run.rssAfter[name]}`).join(', ')}\n`,
    );
    if (REUSE) await fixture.returnToService();
  } finally {
    await fixture.dispose();
  }
}
process.stdout.write(`\n## whole upgrade 1.0.0 -> current, seconds per step\n\n${upgradeTable(upgrades)}\n`);
