import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { readManifest } from '../../src/db/copy/dump-format.js';
import { restoreDump } from '../../src/db/copy/dump-read.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { startServer } from '../../src/server/start.js';
import { FIRST_SERVING_FILE, type FirstServing } from '../../src/upgrade/first-serving.js';
import { journalPath } from '../../src/upgrade/journal.js';
import { ensureJdbcStoreSchema } from '../../src/userstores/sql/sql-schema.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { buildFixtureOn } from '../helpers/fixtures.js';
import { allRows, type TableRows } from '../helpers/rows.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';

const CLI = path.resolve('bin/tessera.js');
const PASSWORD = 'fixture-pw';
const LEGACY_ALGORITHM = /sha-?256/i;

interface World {
  kind: DatabaseKind;
  production: ScratchDatabase;
  staging?: ScratchDatabase;
  stagingUrl: string;
  oldHome: string;
  newHome: string;
  mainUrl: string;
  storesUrl: string;
  /** `PARTNERS/<user>@<tenant>` whose stored hash is release 1.x's salted SHA-256. */
  storeLogin: string;
  storeUser: { tenantId: number; username: string };
  cleanups: (() => Promise<void>)[];
}

async function withDatabase<T>(url: string, home: string, work: (db: Database<unknown>) => Promise<T>) {
  const database = await openDatabase<unknown>(url, home);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/**
 * A 1.1.0 home whose PARTNERS stores share one database that both homes reach: on the production server
 * beside the main database, or for SQLite a file named by an absolute path.
 */
async function world(kind: DatabaseKind): Promise<World> {
  const cleanups: (() => Promise<void>)[] = [];
  const production = await scratchDatabase(kind, 'prod');
  const oldHome = path.join(production.home, 'old');
  const newHome = path.join(production.home, 'new');
  const fixture = await buildFixtureOn(kind, production, {
    release: '1.1.0',
    home: oldHome,
    tenants: 2,
    users: 6,
    password: PASSWORD,
  });
  let storesUrl = fixture.storesUrl;
  if (kind === 'sqlite') {
    // An absolute path: the new home uses the very same file, as it would a database on a server.
    const absolute = `sqlite:${path.join(oldHome, storesUrl.slice('sqlite:'.length))}`;
    const tenants = path.join(oldHome, 'repository', 'tenants');
    const folders = [
      path.join(oldHome, 'repository', 'deployment', 'server'),
      ...readdirSync(tenants).map((tenant) => path.join(tenants, tenant)),
    ];
    for (const folder of folders) {
      const file = path.join(folder, 'userstores', 'PARTNERS.toml');
      if (existsSync(file)) writeFileSync(file, readFileSync(file, 'utf8').replace(storesUrl, absolute));
    }
    storesUrl = absolute;
  } else {
    cleanups.push(fixture.dropStores);
  }
  let staging: ScratchDatabase | undefined;
  let stagingUrl = 'sqlite:repository/database/tessera.db';
  if (kind !== 'sqlite') {
    staging = await scratchDatabase(kind, 'staging');
    stagingUrl = staging.url;
  }
  const active = await withDatabase(fixture.summary.databaseUrl, oldHome, async (main) => {
    const rows = await sql<{ id: number; domain: string }>`
      select id, domain from tenants where active = 1 order by id`.execute(main.db);
    return new Map(rows.rows.map((r) => [Number(r.id), r.domain]));
  });
  const storeUser = await withDatabase(storesUrl, oldHome, async (stores) => {
    const rows = await sql<{ tenant_id: number; username: string; password_algorithm: string }>`
      select tenant_id, username, password_algorithm from users order by id`.execute(stores.db);
    const row = rows.rows.find(
      (r) => active.has(Number(r.tenant_id)) && LEGACY_ALGORITHM.test(r.password_algorithm),
    );
    if (!row) throw new Error('the fixture has no PARTNERS user with a legacy hash in an active tenant');
    return { tenantId: Number(row.tenant_id), username: row.username };
  });
  return {
    kind,
    production,
    staging,
    stagingUrl,
    oldHome,
    newHome,
    mainUrl: fixture.summary.databaseUrl,
    storesUrl,
    storeLogin: `PARTNERS/${storeUser.username}@${active.get(storeUser.tenantId)}`,
    storeUser,
    cleanups,
  };
}

function upgrade(w: World, extra: string[] = [], env: Record<string, string> = {}) {
  return spawnSync(
    process.execPath,
    [
      CLI,
      ...upgradeArgs({
        fromHome: w.oldHome,
        home: w.newHome,
        stagingUrl: w.stagingUrl,
        checkLogin: `${w.storeLogin}:${PASSWORD}`,
      }),
      ...extra,
    ],
    { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 },
  );
}

/** Every row of every table of each production database: the main one and the shared store database. */
async function productionRows(w: World): Promise<{ main: TableRows; stores: TableRows }> {
  return {
    main: await withDatabase(w.mainUrl, w.oldHome, (db) => allRows(db)),
    stores: await withDatabase(w.storesUrl, w.oldHome, (db) => allRows(db)),
  };
}

function report(w: World, json: boolean) {
  const result = spawnSync(
    process.execPath,
    [CLI, 'upgrade', 'report', '--home', w.newHome, ...(json ? ['--json'] : [])],
    { encoding: 'utf8' },
  );
  expect(result.status, result.stderr).toBe(0);
  return json ? JSON.parse(result.stdout) : result.stdout;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readJournal(w: World) {
  return JSON.parse(readFileSync(journalPath(w.newHome), 'utf8'));
}

describe.each(DATABASE_KINDS)('an upgrade whose store database both homes share, on %s', (kind) => {
  let w: World;
  let before: { main: TableRows; stores: TableRows };
  let dryRun: string;

  beforeAll(async () => {
    w = await world(kind);
    before = await productionRows(w);
    const preview = upgrade(w, ['--dry-run']);
    expect(preview.status, preview.stderr).toBe(0);
    dryRun = preview.stdout;
    // Stopped right before promote, the one step allowed to change production.
    const stopped = upgrade(w, [], { TESSERA_UPGRADE_CRASH_AT: 'before:promote' });
    expect(stopped.signal, stopped.stderr).toBe('SIGKILL');
  }, 300_000);
  afterAll(async () => {
    if (!w) return;
    for (const cleanup of w.cleanups) await cleanup().catch(() => {});
    await w.staging?.drop();
    await w.production.drop();
  });

  it('says in the dry run that the shared store database is opened read-only and dumped', () => {
    expect(dryRun).toMatch(/open store database .* read-only \(the old home still uses it; used by PARTNERS/);
    expect(dryRun).toMatch(/dump store database .*store-databases/);
  });

  it('leaves every production database row by row as it was until promote, the legacy hash included', async () => {
    const journal = readJournal(w);
    expect(journal.steps.smoke.status).toBe('done');
    expect(journal.steps.smoke.details.checkLogins).toEqual([
      expect.objectContaining({ username: w.storeLogin, ok: true }),
    ]);
    const after = await productionRows(w);
    expect(Object.keys(after.stores).sort()).toEqual(['roles', 'user_attributes', 'user_roles', 'users']);
    for (const table of Object.keys(before.main))
      expect(after.main[table], table).toEqual(before.main[table]);
    expect(after.main).toEqual(before.main);
    expect(after.stores).toEqual(before.stores);
    const algorithm = await withDatabase(w.storesUrl, w.oldHome, async (stores) => {
      const row = await sql<{ password_algorithm: string }>`
        select password_algorithm from users where tenant_id = ${w.storeUser.tenantId}
        and username = ${w.storeUser.username}`.execute(stores.db);
      return row.rows[0]?.password_algorithm;
    });
    expect(algorithm).toMatch(LEGACY_ALGORITHM);
  });

  it('backs up the shared store database, verified with its checksums, and the dump restores its rows', async () => {
    const resumed = upgrade(w, ['--resume']);
    expect(resumed.status, resumed.stderr).toBe(0);
    const backup = readJournal(w).steps.backup.details;
    expect(backup.storeDatabases).toHaveLength(1);
    const [dump] = backup.storeDatabases;
    expect(dump.verification).toBe('verified');
    expect(dump.usedBy.length).toBeGreaterThan(0);
    expect(dump.folder.startsWith(path.join(w.newHome, 'backups'))).toBe(true);
    const manifest = await readManifest(dump.folder);
    expect(Object.keys(dump.tables).sort()).toEqual(['roles', 'user_attributes', 'user_roles', 'users']);
    for (const table of manifest.tables) {
      expect(dump.tables[table.name]).toEqual({
        rows: table.rows,
        checksum: table.checksum,
        bytes: table.fileBytes,
      });
      expect(table.checksum).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(dump.tables.users.rows).toBe(before.stores.users?.length);

    const scratch = await scratchDatabase(kind, 'restore');
    try {
      await withDatabase(scratch.url, scratch.home, async (restored) => {
        await ensureJdbcStoreSchema(restored);
        await restoreDump(dump.folder, restored);
        expect(await allRows(restored)).toEqual(before.stores);
      });
    } finally {
      await scratch.drop();
    }
  });

  // Runs after the resumed upgrade above has promoted.
  it("ends the outage when the first node of the new release serves, not at promote's own probe", async () => {
    const readyAt = readJournal(w).steps.promote.details.readyAt as number;
    const open = report(w, true).outage;
    expect(open).toMatchObject({ open: true, endedAt: new Date(readyAt).toISOString() });
    expect(open.endedBy).toBe('open: ends when the first node of the new release serves');
    expect(open.durationMs).toBe(open.measuredAtPromote.durationMs);
    expect(report(w, false)).toMatch(
      /outage: [\d.]+ (ms|s) so far .*promote's readiness probe\); open: ends when the first node of the new release serves/,
    );

    await sleep(1_500);
    const startedAt = Date.now();
    const node = await startServer({ home: w.newHome, port: 0, host: '127.0.0.1', stdoutLogs: false });
    const firstFile = path.join(w.newHome, 'upgrade', FIRST_SERVING_FILE);
    let first: FirstServing;
    try {
      first = JSON.parse(readFileSync(firstFile, 'utf8'));
      expect(first.servingAt).toBeGreaterThanOrEqual(startedAt);
      expect(first.servingAt).toBeGreaterThan(readyAt + 1_500);
      const nodes = await sql<{ node_id: string; started_at: number }>`
        select node_id, started_at from cluster_nodes where node_id = ${first.nodeId}`.execute(
        node.context.database.db,
      );
      expect(nodes.rows).toHaveLength(1);

      const api = await fetch(`${node.url}/api/v1/upgrade/report`, {
        headers: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` },
      });
      expect(api.status).toBe(200);
      const body = (await api.json()) as { text: string; journal: { outage: Record<string, unknown> } };
      expect(body.journal.outage).toMatchObject({
        open: false,
        endedAt: new Date(first.servingAt).toISOString(),
      });
      expect(body.text).toContain(`to ${new Date(first.servingAt).toISOString()}, node ${first.nodeId}`);
    } finally {
      await node.close();
    }

    const ended = report(w, true).outage;
    expect(ended).toMatchObject({
      open: false,
      endedAt: new Date(first.servingAt).toISOString(),
      durationMs: first.servingAt - Date.parse(ended.startedAt),
      firstServing: first,
    });
    expect(ended.durationMs).toBeGreaterThan(ended.measuredAtPromote.durationMs + 1_500);
    expect(report(w, false)).toContain(`to ${new Date(first.servingAt).toISOString()}, node ${first.nodeId}`);

    // A later node does not move the end of the outage.
    const second = await startServer({ home: w.newHome, port: 0, host: '127.0.0.1', stdoutLogs: false });
    await second.close();
    expect(JSON.parse(readFileSync(firstFile, 'utf8'))).toEqual(first);
  });
});
