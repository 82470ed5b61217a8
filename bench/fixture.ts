/**
 * The 1.0.0 production fixture a bench upgrades: built with `tessera fixture`, or reused from `--reuse DIR`
 * where an earlier run left one of the same size (building 1M users takes minutes).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createDatabase, dropDatabase, openDatabase } from '../src/db/connection.js';
import type { DatabaseKind } from '../src/db/url.js';
import { storesDatabaseUrl } from '../src/releases/fixtures/build.js';
import { RETIRED_SCRIPT } from '../src/releases/history.js';
import { BENCH_SERVERS, CLI, fixtureArgs } from './options.js';
import { timed } from './stage-runs.js';

export interface BenchFixture {
  kind: DatabaseKind;
  oldHome: string;
  productionUrl: string;
  /** Seconds `tessera fixture` took; undefined when reused. */
  buildSeconds: number | undefined;
  /** Puts the fixture back in service after an upgrade retired it (reused fixtures only). */
  returnToService(): Promise<void>;
  /** Drops what was built, unless it is kept for reuse. */
  dispose(): Promise<void>;
}

const MARKER = 'bench-fixture.json';

export async function benchFixture(
  kind: DatabaseKind,
  size: { users: number; tenants: number },
  reuseDir: string | undefined,
): Promise<BenchFixture> {
  const keep = reuseDir !== undefined;
  const folder = keep
    ? path.resolve(reuseDir, `${kind}-${size.users}-${size.tenants}`)
    : mkdtempSync(path.join(os.tmpdir(), `tessera-bench-fixture-${kind}-`));
  const oldHome = path.join(folder, 'old');
  const name = keep
    ? `tessera_bench_fixture_${size.users}_${size.tenants}`
    : `tessera_bench_prod_${path
        .basename(folder)
        .slice(-6)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '')}`;
  const productionUrl =
    kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : `${BENCH_SERVERS[kind]}/${name}`;
  const drop = async (): Promise<void> => {
    if (kind !== 'sqlite') {
      await dropDatabase(storesDatabaseUrl(productionUrl, oldHome), oldHome).catch(() => {});
      await dropDatabase(productionUrl, folder).catch(() => {});
    }
    rmSync(folder, { recursive: true, force: true });
  };
  const returnToService = async (): Promise<void> => {
    // Promote retires production with one schema history row; only a bench that reuses it removes it.
    const production = await openDatabase<unknown>(productionUrl, oldHome);
    try {
      await sql`delete from tessera_schema_history where script = ${RETIRED_SCRIPT}`.execute(production.db);
    } finally {
      await production.close();
    }
  };

  if (keep && existsSync(path.join(folder, MARKER))) {
    await returnToService();
    return {
      kind,
      oldHome,
      productionUrl,
      buildSeconds: undefined,
      returnToService,
      dispose: async () => {},
    };
  }
  await drop();
  mkdirSync(folder, { recursive: true });
  if (kind !== 'sqlite') await createDatabase(productionUrl, folder);
  const buildSeconds = timed('tessera fixture', [
    process.execPath,
    CLI,
    ...fixtureArgs(oldHome, productionUrl, size),
    '--password',
    'bench-pw',
  ]);
  if (keep) writeFileSync(path.join(folder, MARKER), `${JSON.stringify({ ...size, productionUrl })}\n`);
  return {
    kind,
    oldHome,
    productionUrl,
    buildSeconds,
    returnToService,
    dispose: keep ? async () => {} : drop,
  };
}
