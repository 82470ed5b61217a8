/**
 * Issue 4's stage comparison, run by bench/upgrade.ts on each engine's fixture: Tessera's stage step (copy +
 * verification, the real `stageStep.run`, in-process) against the engine's own tools on the same data:
 * `pg_dump | psql`, `pg_dump -Fc` + `pg_restore -j2`, `CREATE DATABASE ... TEMPLATE` and, with staging on a
 * second PostgreSQL cluster (initdb on port 5433), `pg_dump | psql` there; `mariadb-dump | mariadb`;
 * `sqlite3 .backup` and `sqlite3 .dump | sqlite3`. Staging is created empty before every run.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { summarizeConfigFile } from '../src/config/config-format.js';
import { createDatabase, type Database, dropDatabase, openDatabase } from '../src/db/connection.js';
import { countRows, listTables } from '../src/db/copy/tables.js';
import { resolveEngineAbilities } from '../src/db/engine-abilities.js';
import type { DatabaseKind } from '../src/db/url.js';
import { homeLayout } from '../src/home/layout.js';
import { createProgress } from '../src/progress/progress.js';
import { CURRENT_RELEASE, upgradePath } from '../src/releases/matrix.js';
import { readOldConfig } from '../src/upgrade/build-plan.js';
import { UpgradeConnections } from '../src/upgrade/connections.js';
import { Journal } from '../src/upgrade/journal.js';
import { STEP_NAMES } from '../src/upgrade/steps/index.js';
import { stageStep } from '../src/upgrade/steps/stage/stage.js';
import type { UpgradeContext } from '../src/upgrade/types.js';
import type { UpgradePlan } from '../src/upgrade/upgrade-plan.js';
import { BENCH_SERVERS } from './options.js';

const SERVERS = BENCH_SERVERS;
const PG_BIN = '/usr/lib/postgresql/15/bin';
const SECOND_PORT = 5433;
const SOURCE = '1.0.0';

export interface Row {
  what: string;
  seconds: number;
  note?: string;
  /** The target for Tessera's time over this one's, when the row is a reference. */
  goal?: string;
  /** The Tessera run this reference is compared with, when not the main one (seconds). */
  versus?: number;
}

export interface StageComparison {
  rows: Row[];
  tessera: { seconds: number; copyMs: number; verifyMs: number; rows: number; method: string };
  maxRssMb: number;
  rssBeforeMb: number;
}

export function timed(label: string, argv: string[]): number {
  const started = performance.now();
  const result = spawnSync(argv[0] ?? '', argv.slice(1), {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(`${label} failed (${result.status}): ${result.stderr?.slice(0, 2000)}`);
  return (performance.now() - started) / 1000;
}

/** A shell pipeline (`a | b`) with pipefail, so that a failing producer fails the run. */
export function pipeline(label: string, script: string): number {
  return timed(label, ['bash', '-c', `set -euo pipefail; ${script}`]);
}

export function dbName(url: string): string {
  return new URL(url).pathname.slice(1);
}

async function planFor(
  production: Database<unknown>,
  productionUrl: string,
  stagingUrl: string,
  oldHome: string,
): Promise<UpgradePlan> {
  const tables = [];
  for (const table of await listTables(production)) {
    tables.push({ name: table.name, rows: await countRows(production, table.name) });
  }
  return {
    sourceRelease: SOURCE,
    targetRelease: CURRENT_RELEASE,
    oldConfigFormat: summarizeConfigFile(homeLayout(oldHome).configFile).format,
    productionUrl,
    stagingUrl,
    hops: upgradePath(SOURCE, CURRENT_RELEASE),
    kind: production.kind,
    tables,
  };
}

/** Runs the real stage step into an empty staging database; returns wall time, split and peak RSS. */
async function tesseraStage(
  productionUrl: string,
  oldHome: string,
  stagingUrl: string,
  newHome: string,
): Promise<{
  seconds: number;
  copyMs: number;
  verifyMs: number;
  rows: number;
  method: string;
  maxRssMb: number;
  rssBeforeMb: number;
}> {
  const connections = new UpgradeConnections({
    production: () => openDatabase<unknown>(productionUrl, oldHome),
    staging: () => openDatabase<unknown>(stagingUrl, newHome),
  });
  try {
    const plan = await planFor(await connections.get('production'), productionUrl, stagingUrl, oldHome);
    const command = { fromHome: oldHome, home: newHome, stagingUrl, to: CURRENT_RELEASE };
    const context: UpgradeContext = {
      options: {
        fromHome: oldHome,
        home: newHome,
        stagingUrl,
        to: CURRENT_RELEASE,
        dryRun: false,
        resume: false,
        yes: true,
        checkLogins: [],
      },
      oldLayout: homeLayout(oldHome),
      oldConfig: readOldConfig(homeLayout(oldHome).configFile),
      newLayout: homeLayout(newHome),
      plan,
      journal: Journal.create(undefined, command, plan, STEP_NAMES),
      progress: createProgress({ quiet: true }),
      production: () => connections.get('production'),
      staging: () => connections.get('staging'),
      closeConnections: () => connections.close(),
      abilities: resolveEngineAbilities(plan.kind),
      now: () => Date.now(),
    };
    const rssBeforeMb = process.resourceUsage().maxRSS / 1024;
    const started = performance.now();
    const details = await stageStep.run(context, undefined);
    const seconds = (performance.now() - started) / 1000;
    return {
      seconds,
      copyMs: Number(details.copyMs ?? Number.NaN),
      verifyMs: Number(details.verifyMs ?? Number.NaN),
      rows: Number(details.rows ?? 0),
      method: String(details.method ?? ''),
      // maxRSS is in KiB, the peak of the whole process so far.
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      rssBeforeMb,
    };
  } finally {
    await connections.close();
  }
}

function asPostgres(argv: string[]): string[] {
  return ['runuser', '-u', 'postgres', '--', ...argv];
}

/**
 * Staging on a second PostgreSQL cluster (initdb into a temp folder, port 5433), where a template copy is
 * impossible: Tessera's stage against `pg_dump | psql`. The cluster is stopped and deleted even on failure.
 */
async function crossCluster(
  productionUrl: string,
  oldHome: string,
  newHome: string,
  work: string,
): Promise<Row[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-cluster-'));
  const server = `postgres://postgres@127.0.0.1:${SECOND_PORT}`;
  const stagingUrl = `${server}/tessera_bench_staging_remote`;
  try {
    timed('chown', ['chown', 'postgres:postgres', dir]);
    timed(
      'initdb',
      asPostgres([`${PG_BIN}/initdb`, '-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync']),
    );
    timed(
      'pg_ctl start',
      asPostgres([
        `${PG_BIN}/pg_ctl`,
        '-D',
        dir,
        '-o',
        `-p ${SECOND_PORT} -k /tmp`,
        '-l',
        path.join(dir, 'server.log'),
        '-w',
        'start',
      ]),
    );
    await createDatabase(stagingUrl, work);
    const stage = await tesseraStage(productionUrl, oldHome, stagingUrl, newHome);
    await dropDatabase(stagingUrl, work);
    await createDatabase(stagingUrl, work);
    const dump = pipeline(
      'pg_dump | psql (second cluster)',
      `pg_dump -d ${productionUrl} | psql -q -X -v ON_ERROR_STOP=1 -o /dev/null -d ${stagingUrl}`,
    );
    return [
      {
        what: 'Tessera stage, staging on a second cluster',
        seconds: stage.seconds,
        note: `copy ${(stage.copyMs / 1000).toFixed(2)} s + verify ${(stage.verifyMs / 1000).toFixed(2)} s, ${stage.method}`,
      },
      {
        what: 'pg_dump | psql, staging on a second cluster',
        seconds: dump,
        goal: '≤ 0.5',
        versus: stage.seconds,
      },
    ];
  } finally {
    // Unconditional: a start that failed half-way may still have left a server running.
    spawnSync(
      'runuser',
      ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', dir, '-m', 'fast', '-w', 'stop'],
      {
        stdio: 'ignore',
      },
    );
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs Tessera's stage and the engine's references on one fixture, each into a staging database created
 * empty just before it; production is only read. Staging is left dropped (SQLite: removed).
 */
export async function compareStage(
  kind: DatabaseKind,
  fixture: { productionUrl: string; oldHome: string },
  options: { crossCluster: boolean },
): Promise<StageComparison> {
  const { productionUrl, oldHome } = fixture;
  const work = mkdtempSync(path.join(os.tmpdir(), `tessera-bench-stage-${kind}-`));
  const newHome = path.join(work, 'new');
  mkdirSync(newHome, { recursive: true });
  const suffix = randomBytes(4).toString('hex');
  const stagingUrl =
    kind === 'sqlite' ? 'sqlite:staging/tessera.db' : `${SERVERS[kind]}/tessera_bench_staging_${suffix}`;
  const recreateStaging = async (): Promise<void> => {
    if (kind === 'sqlite') {
      rmSync(path.join(newHome, 'staging'), { recursive: true, force: true });
      return;
    }
    await dropDatabase(stagingUrl, work).catch(() => {});
    await createDatabase(stagingUrl, work);
  };
  try {
    await recreateStaging();
    const stage = await tesseraStage(productionUrl, oldHome, stagingUrl, newHome);
    const rows: Row[] = [
      {
        what: 'Tessera stage (copy + verify)',
        seconds: stage.seconds,
        note: `copy ${(stage.copyMs / 1000).toFixed(2)} s + verify ${(stage.verifyMs / 1000).toFixed(2)} s, ${stage.rows.toLocaleString('en')} rows, ${stage.method}`,
      },
    ];
    if (kind === 'postgres') {
      const prod = dbName(productionUrl);
      const stg = dbName(stagingUrl);
      const server = SERVERS.postgres;
      await recreateStaging();
      rows.push({
        what: 'pg_dump | psql',
        goal: '≤ 0.5',
        seconds: pipeline(
          'pg_dump | psql',
          `pg_dump -d ${server}/${prod} | psql -q -X -v ON_ERROR_STOP=1 -o /dev/null -d ${server}/${stg}`,
        ),
      });
      await recreateStaging();
      const dump = path.join(work, 'prod.dump');
      rows.push({
        what: 'pg_dump -Fc + pg_restore -j2',
        goal: '≤ 0.5',
        seconds: pipeline(
          'pg_dump -Fc + pg_restore -j2',
          `pg_dump -Fc -f ${dump} -d ${server}/${prod} && pg_restore -j2 -d ${server}/${stg} ${dump}`,
        ),
      });
      rmSync(dump, { force: true });
      await dropDatabase(stagingUrl, work);
      // Every connection to production is closed by now (tesseraStage closes its own).
      rows.push({
        what: 'CREATE DATABASE ... TEMPLATE prod',
        goal: '≤ 1.5',
        seconds: timed('CREATE DATABASE TEMPLATE', [
          'psql',
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-d',
          `${server}/postgres`,
          '-c',
          `CREATE DATABASE ${stg} TEMPLATE ${prod}`,
        ]),
      });
      if (options.crossCluster) rows.push(...(await crossCluster(productionUrl, oldHome, newHome, work)));
    } else if (kind === 'mysql') {
      const prod = dbName(productionUrl);
      const stg = dbName(stagingUrl);
      await recreateStaging();
      rows.push({
        what: 'mariadb-dump | mariadb',
        goal: '≤ 0.5',
        seconds: pipeline(
          'mariadb-dump | mariadb',
          `mariadb-dump -h 127.0.0.1 -P 3306 -u root --single-transaction ${prod} | mariadb -h 127.0.0.1 -P 3306 -u root ${stg}`,
        ),
      });
    } else {
      const prodFile = path.join(oldHome, 'repository', 'database', 'tessera.db');
      if (!existsSync(prodFile)) throw new Error(`no SQLite production at ${prodFile}`);
      const target = path.join(work, 'backup-staging.db');
      rows.push({
        what: 'sqlite3 .backup',
        seconds: timed('sqlite3 .backup', ['sqlite3', prodFile, `.backup ${target}`]),
      });
      rmSync(target, { force: true });
      rows.push({
        what: 'sqlite3 .dump | sqlite3',
        goal: '≤ 0.5',
        seconds: pipeline('sqlite3 .dump | sqlite3', `sqlite3 ${prodFile} .dump | sqlite3 ${target}`),
      });
    }
    return {
      rows,
      tessera: {
        seconds: stage.seconds,
        copyMs: stage.copyMs,
        verifyMs: stage.verifyMs,
        rows: stage.rows,
        method: stage.method,
      },
      maxRssMb: stage.maxRssMb,
      rssBeforeMb: stage.rssBeforeMb,
    };
  } finally {
    if (kind !== 'sqlite') await dropDatabase(stagingUrl, work).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}
