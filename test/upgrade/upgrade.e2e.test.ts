import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, dropDatabase, localDatabaseFiles, openDatabase } from '../../src/db/connection.js';
import { type DatabaseKind, parseDatabaseUrl } from '../../src/db/url.js';
import { buildFixture, storesDatabaseUrl } from '../../src/releases/fixtures/build.js';
import { inspectSchema } from '../../src/releases/guard.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { migrateTo } from '../../src/releases/migrator.js';
import { startServer } from '../../src/server/start.js';
import { addEdgeRows, LARGE_TEXT, LARGEST_ID, SMALLEST_ID } from '../db/copy/edge-rows.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { allRows, type Ignore } from '../helpers/rows.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';

const NEAR_LARGEST_ID = LARGEST_ID - 1_000;

const CLI = path.resolve('bin/tessera.js');
/** The longest one `tessera upgrade` child may run. */
const UPGRADE_TIMEOUT_MS = 180_000;
/**
 * A kill-and-resume test runs up to three upgrades: its own timeout must cover them, or a slow machine
 * reports a timeout while the test goes on running against a scenario its afterEach is removing.
 */
const THREE_UPGRADES_MS = 3 * UPGRADE_TIMEOUT_MS + 60_000;
const PASSWORD = 'fixture-pw';
// Timings differ between two runs of the same scripts; everything else must be equal.
const IGNORE: Ignore = { tessera_schema_history: ['started_at', 'finished_at', 'duration_ms'] };

interface Scenario {
  kind: DatabaseKind;
  oldHome: string;
  newHome: string;
  production: ScratchDatabase;
  expected: ScratchDatabase;
  stagingUrl: string;
  staging?: ScratchDatabase;
  cleanups: (() => Promise<void>)[];
}

interface ScenarioOptions {
  users?: number;
  /** Rows added to production and, alike, to the expected database before it is migrated. */
  prepare?: (db: Database<unknown>, release: string) => Promise<void>;
}

/** Production and an independently built expected result: the same fixture migrated by the scripts alone. */
async function scenario(
  kind: DatabaseKind,
  release: string,
  options: ScenarioOptions = {},
): Promise<Scenario> {
  const users = options.users ?? 12;
  const cleanups: (() => Promise<void>)[] = [];
  const production = await scratchDatabase(kind, 'prod');
  const expected = await scratchDatabase(kind, 'expect');
  const oldHome = path.join(production.home, 'old');
  const expectedHome = path.join(expected.home, 'home');
  const url = (db: ScratchDatabase) => (kind === 'sqlite' ? undefined : db.url);
  const built = await buildFixture({
    release,
    home: oldHome,
    databaseUrl: url(production),
    tenants: 3,
    users,
    password: PASSWORD,
  });
  const expectedBuilt = await buildFixture({
    release,
    home: expectedHome,
    databaseUrl: url(expected),
    tenants: 3,
    users,
    password: PASSWORD,
  });
  if (kind !== 'sqlite') {
    cleanups.push(() => dropDatabase(storesDatabaseUrl(built.databaseUrl, oldHome), oldHome));
    cleanups.push(() =>
      dropDatabase(storesDatabaseUrl(expectedBuilt.databaseUrl, expectedHome), expectedHome),
    );
  }
  if (options.prepare) {
    const productionDb = await openDatabase<unknown>(built.databaseUrl, oldHome);
    await options.prepare(productionDb, release).finally(() => productionDb.close());
  }
  const expectedDb = await openDatabase<unknown>(expectedBuilt.databaseUrl, expectedHome);
  await options.prepare?.(expectedDb, release);
  await migrateTo(expectedDb, '2.0.0');
  await expectedDb.close();
  let staging: ScratchDatabase | undefined;
  let stagingUrl: string;
  const newHome = path.join(production.home, 'new');
  if (kind === 'sqlite') {
    stagingUrl = 'sqlite:repository/database/tessera.db';
  } else {
    staging = await scratchDatabase(kind, 'staging');
    stagingUrl = staging.url;
  }
  return {
    kind,
    oldHome,
    newHome,
    production,
    expected: { ...expected, url: expectedBuilt.databaseUrl, home: expectedHome, drop: expected.drop },
    stagingUrl,
    staging,
    cleanups,
  };
}

function upgrade(s: Scenario, extra: string[] = [], env: Record<string, string> = {}) {
  return spawnSync(
    process.execPath,
    [
      CLI,
      ...upgradeArgs({
        fromHome: s.oldHome,
        home: s.newHome,
        stagingUrl: s.stagingUrl,
        checkLogin: `admin:${PASSWORD}`,
      }),
      ...extra,
    ],
    { encoding: 'utf8', env: { ...process.env, ...env }, timeout: UPGRADE_TIMEOUT_MS },
  );
}

async function openStaging(s: Scenario): Promise<Database<unknown>> {
  // Opening a SQLite file creates it: a staging file that is missing must read as missing, not as empty.
  const [file] = localDatabaseFiles(parseDatabaseUrl(s.stagingUrl, s.newHome));
  if (file !== undefined) expect(existsSync(file), `staging file ${file}`).toBe(true);
  return openDatabase<unknown>(s.stagingUrl, s.newHome);
}

async function expectUpgraded(s: Scenario): Promise<void> {
  const staging = await openStaging(s);
  const expected = await openDatabase<unknown>(s.expected.url, s.expected.home);
  try {
    expect(await inspectSchema(staging)).toEqual({ status: 'current', level: '2.0.0' });
    // The smoke test's check-login re-hashed the super tenant admin's legacy password: only those columns may differ.
    const ignore: Ignore = { ...IGNORE, users: ['password_hash', 'password_salt', 'password_algorithm'] };
    const actual = await allRows(staging, ignore);
    const wanted = await allRows(expected, ignore);
    expect(Object.keys(actual).sort()).toEqual(Object.keys(wanted).sort());
    for (const table of Object.keys(wanted)) expect(actual[table], table).toEqual(wanted[table]);
    const strict = await allRows(staging, IGNORE);
    const strictWanted = await allRows(expected, IGNORE);
    const changed = strict.users?.filter((row) => !strictWanted.users?.includes(row)) ?? [];
    expect(changed.length).toBeLessThanOrEqual(1);
  } finally {
    await staging.close();
    await expected.close();
  }
}

async function cleanup(s: Scenario | undefined): Promise<void> {
  if (!s) return;
  for (const step of s.cleanups) await step().catch(() => {});
  await s.staging?.drop();
  await s.expected.drop();
  await s.production.drop();
}

describe.each(DATABASE_KINDS)('tessera upgrade on %s', (kind) => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await cleanup(s);
    s = undefined;
  });

  it.each(['1.0.0', '1.1.0'])(
    'upgrades a %s fixture to 2.0.0: every table equal, production retired, new home serving',
    async (release) => {
      s = await scenario(kind, release);
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
      } finally {
        await server.close();
      }
      expect(readFileSync(path.join(s.newHome, 'conf', 'tessera.toml'), 'utf8')).toContain('format = "2.0"');
    },
  );
});

describe('dry run and resume', () => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await cleanup(s);
    s = undefined;
  });

  it('--dry-run prints the plan, preflight, scripts and config changes, and writes nothing', async () => {
    s = await scenario('sqlite', '1.0.0');
    const production = await openDatabase<unknown>('sqlite:repository/database/tessera.db', s.oldHome);
    const before = await allRows(production);
    await production.close();
    const result = upgrade(s, ['--dry-run']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('Dry run: nothing was changed.');
    expect(result.stdout).toContain(`1.0.0 -> ${CURRENT_RELEASE}`);
    expect(result.stdout).toContain('[migrate]');
    expect(result.stdout).toContain('[configure]');
    expect(existsSync(s.newHome)).toBe(false);
    const after = await openDatabase<unknown>('sqlite:repository/database/tessera.db', s.oldHome);
    expect(await allRows(after)).toEqual(before);
    await after.close();
  });

  const crashes = [
    'after:plan',
    'after:preflight',
    'before:backup',
    'after:backup',
    'stage:table#2',
    'after:stage',
    'migrate:statement#4',
    'after:migrate',
    'after:checkpoints',
    'configure:copy#1',
    'after:configure',
    'after:smoke',
    'before:promote',
  ];
  it.each(crashes)(
    'killed with -9 at %s on SQLite, --resume ends identical to an uninterrupted run',
    async (point) => {
      s = await scenario('sqlite', '1.0.0');
      const killed = upgrade(s, [], { TESSERA_UPGRADE_CRASH_AT: point });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      if (point !== 'after:plan' && point !== 'after:preflight') {
        const again = upgrade(s);
        expect(again.status).toBe(2);
        expect(again.stderr).toContain('--resume');
      }
      const resumed = upgrade(s, point === 'after:plan' || point === 'after:preflight' ? [] : ['--resume']);
      expect(resumed.status, resumed.stderr).toBe(0);
      await expectUpgraded(s);
    },
    THREE_UPGRADES_MS,
  );
});

describe.each(['postgres', 'mysql'] as const)('kill -9 and resume on %s', (kind) => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await cleanup(s);
    s = undefined;
  });

  it.each(['stage:table#3', 'migrate:statement#3', 'after:configure'])(
    'killed at %s, resumed, equal to the expected rows',
    async (point) => {
      s = await scenario(kind, '1.0.0');
      const killed = upgrade(s, [], { TESSERA_UPGRADE_CRASH_AT: point });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const resumed = upgrade(s, ['--resume']);
      expect(resumed.status, resumed.stderr).toBe(0);
      await expectUpgraded(s);
    },
  );
});

describe.each(DATABASE_KINDS)('tessera upgrade across every batching boundary on %s', (kind) => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await cleanup(s);
    s = undefined;
  });

  it('copies, dumps and migrates a 12,000-user 1.1.0 fixture with edge rows, every table equal row by row', async () => {
    // 12,000 users make ~36,000 attribute rows: several batches of every reader and writer (5,000-row
    // keyset pages, COPY progress batches, 10,000-row MariaDB INSERT ... SELECT ranges, dump batches). The
    // edge rows add the smallest 32-bit id and one near the largest, a 1 MB value, empty and non-ASCII
    // text. A 1.x database holds no NULL (every 1.x column is NOT NULL): NULLs are copied in the stage
    // step's tests on 2.0.0 rows.
    s = await scenario(kind, '1.1.0', {
      users: 12_000,
      prepare: async (db, release) => {
        // A user at the largest 32-bit id would leave the smoke test (and production) no id to create
        // users with; the step tests copy that one.
        await addEdgeRows(db, release, NEAR_LARGEST_ID);
        // A table with no rows: nothing in 1.1.0 needs the registered store domains.
        await sql`delete from store_domains`.execute(db.db);
      },
    });
    const production = await openDatabase<unknown>(
      kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : s.production.url,
      s.oldHome,
    );
    const before = await allRows(production);
    await production.close();
    expect(before.user_attributes?.length).toBeGreaterThan(30_000);
    expect(Object.values(before).some((rows) => rows.length === 0)).toBe(true);

    // On PostgreSQL the table-by-table COPY, whose batches are the point here (a clone has none).
    const result = upgrade(s, kind === 'postgres' ? ['--no-clone'] : []);
    expect(result.status, result.stderr).toBe(0);
    await expectUpgraded(s);
    const staging = await openStaging(s);
    try {
      const attribute = await sql<{ value: string }>`
        select value from user_attributes where user_id = ${NEAR_LARGEST_ID} and name = 'large'`.execute(
        staging.db,
      );
      expect(attribute.rows[0]?.value).toBe(LARGE_TEXT);
      const ids = await sql<{
        low: number;
        high: number;
      }>`select min(id) as low, max(id) as high from users`.execute(staging.db);
      expect(ids.rows[0]).toEqual({ low: SMALLEST_ID, high: NEAR_LARGEST_ID });
    } finally {
      await staging.close();
    }
  }, 240_000);
});
