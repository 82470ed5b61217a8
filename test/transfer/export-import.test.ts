import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.js';
import { importCommand } from '../../src/cli/import.js';
import { DEFAULT_DATABASE_URL, defaultConfigText } from '../../src/config/schema.js';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { isTesseraError } from '../../src/errors.js';
import { ensureHomeLayout, homeLayout } from '../../src/home/layout.js';
import { loadSecretsKey, secretsKeyPath } from '../../src/home/secrets-key.js';
import { buildFixture } from '../../src/releases/fixtures/build.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { bootstrapDatabase } from '../../src/server/bootstrap.js';
import { exportHome } from '../../src/transfer/export.js';
import { IMPORTED_CONFIG_FILE, importHome } from '../../src/transfer/import.js';
import { addEdgeRows } from '../db/copy/edge-rows.js';
import { DATABASE_KINDS, type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { buildFixtureOn, fixtureAtCurrentRelease } from '../helpers/fixtures.js';
import { allRows } from '../helpers/rows.js';
import { listFiles } from '../releases/fixtures/snapshot.js';

interface Home {
  root: string;
  url: string;
  open(): Promise<Database<unknown>>;
}

/** A home with a config naming a fresh scratch database; `firstStart` runs what a first start does to it. */
async function newHome(
  kind: DatabaseKind,
  label: string,
  scratches: ScratchDatabase[],
  firstStart: boolean,
): Promise<Home> {
  const scratch = await scratchDatabase(kind, label);
  scratches.push(scratch);
  const root = path.join(scratch.home, 'home');
  const url = kind === 'sqlite' ? DEFAULT_DATABASE_URL : scratch.url;
  const layout = homeLayout(root);
  ensureHomeLayout(layout);
  writeFileSync(layout.configFile, defaultConfigText().replace(DEFAULT_DATABASE_URL, url));
  const home = { root, url, open: () => openDatabase<unknown>(url, root) };
  if (firstStart) {
    const database = await openDatabase(url, root);
    try {
      await bootstrapDatabase(database, 'first-start-pw');
    } finally {
      await database.close();
    }
  }
  return home;
}

async function withDatabase<T>(home: Home, work: (database: Database<unknown>) => Promise<T>): Promise<T> {
  const database = await home.open();
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/** App data folders (`appDataFolder`) of the super tenant and of a tenant, and what an app wrote there. */
const APP_DATA = [
  ['repository/deployment/server/appdata/hello', '["super"]'],
  ['repository/tenants/1/appdata/shop', '["tenant"]'],
] as const;

const isHomeFile = (file: string) => !file.startsWith('repository/database') && !file.startsWith('logs');

describe.each(DATABASE_KINDS)('export and import on %s', (kind) => {
  const scratches: ScratchDatabase[] = [];
  let source: Home;
  let exported: string;

  beforeAll(async () => {
    const scratch = await scratchDatabase(kind, 'export');
    scratches.push(scratch);
    const root = path.join(scratch.home, 'home');
    const fixture = await buildFixtureOn(kind, scratch, {
      release: '2.0.0',
      home: root,
      tenants: 2,
      users: 8,
    });
    const url = kind === 'sqlite' ? DEFAULT_DATABASE_URL : scratch.url;
    source = { root, url, open: () => openDatabase<unknown>(url, root) };
    scratches.push({ ...scratch, drop: fixture.dropStores });
    await fixtureAtCurrentRelease(root, url);
    await withDatabase(source, (db) => addEdgeRows(db, CURRENT_RELEASE));
    // What node apps wrote into their data folders (README, Applications) travels with the export.
    for (const [folder, content] of APP_DATA) {
      mkdirSync(path.join(root, folder), { recursive: true });
      writeFileSync(path.join(root, folder, 'orders.json'), content);
    }
    // The key a server made at its first start, which sealed the database's TOTP secrets.
    loadSecretsKey(homeLayout(root));
    exported = path.join(scratch.home, 'export.tar.gz');
    await exportHome({ home: root, out: exported });
  });
  afterAll(async () => {
    for (const scratch of scratches.reverse()) await scratch.drop().catch(() => {});
  });

  it('restores rows, ids and folders exactly into a home fresh from a first start', async () => {
    const target = await newHome(kind, 'import', scratches, true);
    const ownConfig = readFileSync(path.join(target.root, 'conf', 'tessera.toml'), 'utf8');
    const ownKey = loadSecretsKey(homeLayout(target.root));
    const summary = await importHome({ home: target.root, input: exported });
    // The secrets key goes with the rows it sealed: the exported one replaces the first start's.
    const importedKey = loadSecretsKey(homeLayout(target.root));
    expect(importedKey).toEqual(loadSecretsKey(homeLayout(source.root)));
    expect(importedKey).not.toEqual(ownKey);
    expect(readFileSync(secretsKeyPath(homeLayout(target.root)), 'utf8')).not.toBe('');

    const [want, got] = await Promise.all([withDatabase(source, allRows), withDatabase(target, allRows)]);
    expect(got).toEqual(want);
    expect(listFiles(path.join(target.root, 'repository'), (f) => f.startsWith('database'))).toEqual(
      listFiles(path.join(source.root, 'repository'), (f) => f.startsWith('database')),
    );
    for (const file of listFiles(source.root, (f) => !isHomeFile(f) || f.startsWith('conf'))) {
      expect(readFileSync(path.join(target.root, file)), file).toEqual(
        readFileSync(path.join(source.root, file)),
      );
    }
    for (const [folder, content] of APP_DATA)
      expect(readFileSync(path.join(target.root, folder, 'orders.json'), 'utf8'), folder).toBe(content);
    // The home keeps its own config (its database); the exported one lies beside it.
    expect(readFileSync(path.join(target.root, 'conf', 'tessera.toml'), 'utf8')).toBe(ownConfig);
    expect(readFileSync(path.join(target.root, IMPORTED_CONFIG_FILE), 'utf8')).toBe(
      readFileSync(path.join(source.root, 'conf', 'tessera.toml'), 'utf8'),
    );
    if (kind === 'sqlite') {
      expect(summary.manifest.storeDatabases).toEqual(['repository/database/userstores.db']);
      const stores = (root: string) =>
        openDatabase<unknown>('sqlite:repository/database/userstores.db', root);
      const [a, b] = [await stores(source.root), await stores(target.root)];
      try {
        expect(await allRows(b)).toEqual(await allRows(a));
      } finally {
        await a.close();
        await b.close();
      }
    } else {
      expect(summary.manifest.storeDatabases).toEqual([]);
    }
    // Ids were kept and the generators moved past them.
    await withDatabase(target, async (db) => {
      const max = await sql<{ id: number }>`select max(id) as id from roles`.execute(db.db);
      await sql`insert into roles (tenant_id, name, created_at) values (-1234, 'after-import', 0)`.execute(
        db.db,
      );
      const added = await sql<{ id: number }>`select id from roles where name = 'after-import'`.execute(
        db.db,
      );
      expect(Number(added.rows[0]?.id)).toBe(Number(max.rows[0]?.id) + 1);
    });

    // A second import would replace rows that are not a first start's: refused, nothing changed.
    const failure = await importHome({ home: target.root, input: exported }).catch((error: unknown) => error);
    expect(isTesseraError(failure, 'BAD_USAGE')).toBe(true);
    expect((failure as { exitCode: number }).exitCode).toBe(2);
    expect((failure as Error).message).toMatch(/holds more than a first start creates|already holds/);
  });

  it('builds the schema first in a home whose database is empty', async () => {
    const target = await newHome(kind, 'import_empty', scratches, false);
    await importHome({ home: target.root, input: exported });
    const [want, got] = await Promise.all([withDatabase(source, allRows), withDatabase(target, allRows)]);
    expect(got).toEqual(want);
  });
});

describe('tessera export and import commands', () => {
  const scratches: ScratchDatabase[] = [];
  afterAll(async () => {
    for (const scratch of scratches) await scratch.drop();
  });

  async function run(command: Command, args: string[]): Promise<number> {
    process.exitCode = undefined;
    const program = new Command('tessera').exitOverride().addCommand(command);
    await program.parseAsync(['node', 'tessera', ...args]);
    const code = Number(process.exitCode ?? 0);
    process.exitCode = undefined;
    return code;
  }

  it('exit 0 on success and 2 when the home is not fit for an import', async () => {
    const target = await newHome('sqlite', 'cli_target', scratches, true);
    const source = { root: path.join(path.dirname(target.root), 'source') };
    await buildFixture({ release: '2.0.0', home: source.root, tenants: 1, users: 2 });
    await fixtureAtCurrentRelease(source.root, DEFAULT_DATABASE_URL);
    const file = path.join(path.dirname(target.root), 'cli.tar.gz');
    const write = process.stdout.write;
    const stderr = process.stderr.write;
    process.stdout.write = () => true;
    process.stderr.write = () => true;
    try {
      expect(await run(exportCommand(), ['export', '--home', source.root, '--out', file])).toBe(0);
      expect(await run(importCommand(), ['import', '--home', target.root, '--in', file])).toBe(0);
      expect(await run(importCommand(), ['import', '--home', target.root, '--in', file])).toBe(2);
      expect(
        await run(importCommand(), [
          'import',
          '--home',
          target.root,
          '--in',
          path.join(source.root, 'conf', 'tessera.toml'),
        ]),
      ).toBe(2);
    } finally {
      process.stdout.write = write;
      process.stderr.write = stderr;
    }
  });
});
