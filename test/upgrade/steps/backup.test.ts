import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../../src/db/connection.js';
import { readManifest } from '../../../src/db/copy/dump-format.js';
import { restoreDump, verifyDump } from '../../../src/db/copy/dump-read.js';
import { emptyTable } from '../../../src/db/copy/tables.js';
import { isTesseraError } from '../../../src/errors.js';
import { migrateTo } from '../../../src/releases/migrator.js';
import { backupFolder, backupStep } from '../../../src/upgrade/steps/backup/backup.js';
import { stageStep } from '../../../src/upgrade/steps/stage/stage.js';
import { addEdgeRows } from '../../db/copy/edge-rows.js';
import { DATABASE_KINDS, scratchDatabase, scratchFolder } from '../../helpers/databases.js';
import { allRows } from '../../helpers/rows.js';
import { createUpgradeFixture, type UpgradeFixture } from '../context.js';

interface BackupDetails {
  folder: string;
  database: { folder: string; rows: number; tables: Record<string, { rows: number; checksum: string }> };
  oldHome: { archive: string; files: number; databaseSnapshot: string | null; skipped: string[] };
}

describe.each(DATABASE_KINDS)('backup step on %s from 1.0.0', (kind) => {
  let world: UpgradeFixture;
  let production: Database<unknown>;
  let details: BackupDetails;

  beforeAll(async () => {
    world = await createUpgradeFixture(kind, { release: '1.0.0', prepare: (db) => addEdgeRows(db, '1.0.0') });
    production = await world.context.production();
    details = (await backupStep.run(world.context, undefined)) as unknown as BackupDetails;
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('dumps every table with the row counts production has, into the new home', async () => {
    expect(details.folder).toBe(backupFolder(world.context));
    expect(details.folder.startsWith(path.join(world.newHome, 'backups', 'upgrade-'))).toBe(true);
    const counted = Object.fromEntries(world.context.plan.tables.map((t) => [t.name, t.rows]));
    expect(Object.fromEntries(Object.entries(details.database.tables).map(([n, t]) => [n, t.rows]))).toEqual(
      counted,
    );
    const manifest = await readManifest(details.database.folder);
    expect(manifest.kind).toBe(kind);
    expect(manifest.tables.map((t) => t.name)).toContain('tessera_schema_history');
  });

  it('restores into a fresh database at 1.0.0 row by row equal to production', async () => {
    const scratch = await scratchDatabase(kind, 'restore');
    const restored = await openDatabase<unknown>(scratch.url, scratch.home);
    try {
      await migrateTo(restored, '1.0.0');
      await emptyTable(restored, 'tessera_schema_history');
      await restoreDump(details.database.folder, restored);
      expect(await allRows(restored)).toEqual(await allRows(production));
    } finally {
      await restored.close();
      await scratch.drop();
    }
  });

  it('archives the old home whole, a SQLite database as a consistent copy', async () => {
    const out = scratchFolder('unpacked');
    try {
      await extract({ file: details.oldHome.archive, cwd: out.dir });
      expect(existsSync(path.join(out.dir, 'conf', 'tessera.toml'))).toBe(true);
      expect(readdirSync(path.join(out.dir, 'repository', 'tenants')).length).toBeGreaterThan(0);
      const databaseFolder = readdirSync(path.join(out.dir, 'repository', 'database'));
      if (kind === 'sqlite') {
        expect(details.oldHome.databaseSnapshot).toBe('repository/database/tessera.db');
        expect(databaseFolder).not.toContain('tessera.db-wal');
        const copy = await openDatabase<unknown>('sqlite:repository/database/tessera.db', out.dir);
        try {
          expect(await allRows(copy)).toEqual(await allRows(production));
        } finally {
          await copy.close();
        }
      } else {
        expect(details.oldHome.databaseSnapshot).toBeNull();
      }
    } finally {
      out.remove();
    }
  });

  it('finds a dump file that no longer holds what the manifest says', async () => {
    const manifest = await readManifest(details.database.folder);
    const users = manifest.tables.find((t) => t.name === 'users');
    if (!users) throw new Error('no users table in the dump');
    const file = path.join(details.database.folder, users.file);
    const original = await readFile(file);
    const lines = gunzipSync(original).toString('utf8').split('\n');
    lines[0] = (lines[0] as string).replace('"h"', '"tampered"');
    await writeFile(file, gzipSync(lines.join('\n')));
    try {
      const failure = await verifyDump(details.database.folder).catch((error: unknown) => error);
      expect(isTesseraError(failure)).toBe(true);
      expect((failure as Error).message).toMatch(/users: .*checksum/);
      await writeFile(file, original.subarray(0, Math.floor(original.length / 2)));
      await expect(verifyDump(details.database.folder)).rejects.toThrow(/users: /);
    } finally {
      await writeFile(file, original);
    }
    await expect(verifyDump(details.database.folder, { against: production })).resolves.toBeDefined();
  });
});

describe('backup and stage dry run', () => {
  it('describe what they would do, naming the engine path, and change nothing', async () => {
    const world = await createUpgradeFixture('postgres', { release: '1.0.0' });
    try {
      const backup = await backupStep.describe(world.context);
      const stage = await stageStep.describe(world.context);
      const tableByTable = await stageStep.describe(
        world.contextWith({ options: { ...world.context.options, noClone: true } }),
      );
      expect(backup.join('\n')).toContain(backupFolder(world.context));
      // Production and staging share a server: a clone first, the binary COPY should the server refuse.
      expect(stage.join('\n')).toMatch(
        /server-side clone of production .* else copy table by table with PostgreSQL binary COPY/,
      );
      expect(tableByTable.join('\n')).toMatch(/binary COPY/);
      expect(tableByTable.join('\n')).toMatch(/schema of release 1\.0\.0/);
      expect(existsSync(world.newHome)).toBe(false);
      const staging = await world.context.staging();
      expect(await staging.dialect.introspect(staging.db)).toEqual([]);
    } finally {
      await world.dispose();
    }
  });
});

describe('backup step resumed', () => {
  it('deletes a half-written backup and makes it again', async () => {
    const world = await createUpgradeFixture('sqlite', { release: '2.0.0' });
    try {
      const production = await world.context.production();
      await addEdgeRows(production, '2.0.0');
      const folder = backupFolder(world.context);
      mkdirSync(path.join(folder, 'database', 'tables'), { recursive: true });
      writeFileSync(path.join(folder, 'database', 'tables', '001-partial.jsonl.gz'), 'half');
      const details = (await backupStep.run(world.context, { folder })) as unknown as BackupDetails;
      expect(readdirSync(path.join(folder, 'database', 'tables'))).not.toContain('001-partial.jsonl.gz');
      expect(details.database.tables.user_attributes?.rows).toBeGreaterThan(0);
      await expect(verifyDump(details.database.folder, { against: production })).resolves.toBeDefined();
      const rows = await sql<{ n: number }>`select count(*) as n from registry_resources`.execute(
        production.db,
      );
      expect(details.database.tables.registry_resources?.rows).toBe(Number(rows.rows[0]?.n));
    } finally {
      await world.dispose();
    }
  });
});
