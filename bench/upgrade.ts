/**
 * bench/upgrade: builds a 1.0.0 fixture on each engine and times the whole `tessera upgrade` to 2.0.0,
 * step by step, from its journal. Run: npm run bench:upgrade [-- --users 100000 --tenants 100 --engines sqlite,postgres,mysql]
 * Needs the local PostgreSQL and MariaDB (as the tests do); every database it creates is dropped at the end.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, dropDatabase } from '../src/db/connection.js';
import type { DatabaseKind } from '../src/db/url.js';
import { storesDatabaseUrl } from '../src/fixtures/build.js';
import { Journal, journalPath } from '../src/upgrade/journal.js';
import { STEP_NAMES } from '../src/upgrade/types.js';
import { BENCH_SERVERS, benchArgs, CLI, fixtureArgs, fixtureOptions } from './options.js';

const args = benchArgs();
const { users: USERS, tenants: TENANTS, engines: ENGINES } = fixtureOptions(args);
const SERVERS = BENCH_SERVERS;

function tessera(argv: string[]): { seconds: number } {
  const started = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...argv], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`tessera ${argv[0]} failed (${result.status}): ${result.stderr}`);
  const seconds = (performance.now() - started) / 1000;
  return { seconds };
}

async function benchEngine(kind: DatabaseKind): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), `tessera-bench-upgrade-${kind}-`));
  const oldHome = path.join(work, 'old');
  const newHome = path.join(work, 'new');
  const suffix = randomBytes(4).toString('hex');
  const productionUrl =
    kind === 'sqlite'
      ? 'sqlite:repository/database/tessera.db'
      : `${SERVERS[kind]}/tessera_bench_prod_${suffix}`;
  const stagingUrl =
    kind === 'sqlite'
      ? 'sqlite:repository/database/tessera.db'
      : `${SERVERS[kind]}/tessera_bench_staging_${suffix}`;
  const created: [string, string][] = [];
  try {
    if (kind !== 'sqlite') {
      for (const url of [productionUrl, stagingUrl]) {
        await createDatabase(url, work);
        created.push([url, work]);
      }
      created.push([storesDatabaseUrl(productionUrl, oldHome), oldHome]);
    }
    const fixture = tessera([
      ...fixtureArgs(oldHome, productionUrl, { users: USERS, tenants: TENANTS }),
      '--password',
      'bench-pw',
    ]);
    const upgrade = tessera([
      'upgrade',
      '--from-home',
      oldHome,
      '--home',
      newHome,
      '--staging-db',
      stagingUrl,
      '--yes',
      '--check-login',
      'admin:bench-pw',
    ]);
    const journal = Journal.load(journalPath(newHome)).data;
    const steps = STEP_NAMES.map(
      (name) => `${name} ${((journal.steps[name].durationMs ?? 0) / 1000).toFixed(2)}s`,
    ).join(', ');
    process.stdout.write(
      `${kind.padEnd(8)} fixture ${fixture.seconds.toFixed(1)}s | upgrade ${upgrade.seconds.toFixed(1)}s | outage ${((journal.outage?.durationMs ?? 0) / 1000).toFixed(1)}s\n         ${steps}\n`,
    );
  } finally {
    for (const [url, home] of created.reverse()) await dropDatabase(url, home).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
}

process.stdout.write(
  `bench/upgrade: 1.0.0 -> 2.0.0, ${USERS.toLocaleString('en')} users across ${TENANTS} tenants, ${os.cpus().length} cores\n`,
);
for (const kind of ENGINES) await benchEngine(kind);
