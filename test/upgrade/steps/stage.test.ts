import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../../src/db/connection.js';
import { listTables } from '../../../src/db/copy/tables.js';
import type { DatabaseKind } from '../../../src/db/url.js';
import { isTesseraError } from '../../../src/errors.js';
import { renderReport } from '../../../src/upgrade/report.js';
import {
  type StageDetails as RecordedStage,
  type StagedTable,
  stageStep,
} from '../../../src/upgrade/steps/stage/stage.js';
import { addEdgeRows, LARGE_TEXT, LARGEST_ID } from '../../db/copy/edge-rows.js';
import { DATABASE_KINDS } from '../../helpers/databases.js';
import { allRows } from '../../helpers/rows.js';
import {
  createUpgradeFixture,
  type RecordingProgress,
  recordingProgress,
  type UpgradeFixture,
} from '../context.js';

type Copy = 'clone' | 'tables';
// PostgreSQL clones a database on the same server; the table-by-table COPY (the path between two servers)
// is forced for the large 1.0.0 fixture, so that both paths are tested.
const CASES: [DatabaseKind, string, Copy][] = DATABASE_KINDS.flatMap((kind) => [
  [kind, '1.0.0', 'tables'] as [DatabaseKind, string, Copy],
  [kind, '2.0.0', kind === 'postgres' ? 'clone' : 'tables'] as [DatabaseKind, string, Copy],
]);

const CHECKSUMS: Record<DatabaseKind, RegExp> = {
  sqlite: /^pages:[0-9a-f]{64}$/,
  postgres: /^pg-record-sum:-?\d+$/,
  mysql: /^mysql-crc32c-sums:\d+:\d+$/,
};

function expectedMethod(kind: DatabaseKind, copy: Copy): RegExp {
  if (kind === 'sqlite') return /backup API/;
  if (kind === 'postgres') return copy === 'clone' ? /template copy/ : /binary COPY/;
  return /INSERT \.\.\. SELECT/;
}

/** The text `tessera upgrade report` prints once the stage step recorded these details. */
function reportOf(world: UpgradeFixture, details: StageDetails): string {
  const { journal } = world.context;
  journal.finishStep(stageStep, details as unknown as RecordedStage);
  return renderReport({ ...journal.data, outage: undefined });
}

interface StageDetails {
  method: string;
  rows: number;
  tables: Record<string, StagedTable & { checksum: string }>;
}

describe.each(CASES)('stage step on %s from %s (%s)', (kind, release, copy) => {
  let world: UpgradeFixture;
  let progress: RecordingProgress;
  let production: Database<unknown>;
  let staging: Database<unknown>;
  let details: StageDetails;

  beforeAll(async () => {
    progress = recordingProgress();
    world = await createUpgradeFixture(kind, {
      release,
      // 1.0.0 is large enough for several batches per table; 2.0.0 carries the 1 MB value and BLOBs.
      users: release === '1.0.0' ? 12_000 : 6,
      prepare: (db) => addEdgeRows(db, release),
      progress,
      noClone: copy === 'tables',
    });
    details = (await stageStep.run(world.context, undefined)) as unknown as StageDetails;
    // Opened after the step: a clone closes the connections it had.
    production = await world.context.production();
    staging = await world.context.staging();
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('leaves staging equal to production, row by row, every table and column', async () => {
    expect(await allRows(staging)).toEqual(await allRows(production));
    const attribute = await sql<{ value: string }>`
      select value from user_attributes where user_id = ${LARGEST_ID} and name = 'large'`.execute(staging.db);
    expect(attribute.rows[0]?.value).toBe(release === '1.0.0' ? undefined : LARGE_TEXT);
  });

  it('records every table done with its rows and checksum, as the plan counted them', () => {
    const planned = Object.fromEntries(world.context.plan.tables.map((t) => [t.name, t.rows]));
    expect(Object.fromEntries(Object.entries(details.tables).map(([name, t]) => [name, t.rows]))).toEqual(
      planned,
    );
    expect(
      Object.values(details.tables).every((t) => t.status === 'done' && CHECKSUMS[kind].test(t.checksum)),
    ).toBe(true);
    expect(details.method).toMatch(expectedMethod(kind, copy));
  });

  it.runIf(kind === 'sqlite')("says once that the files' pages were compared, not once per table", () => {
    const digest = (details as unknown as { pageDigest: string }).pageDigest;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    // The journal keeps each table's checksum (the console reads it); the report names the digest once.
    for (const table of Object.values(details.tables)) expect(table.checksum).toBe(`pages:${digest}`);
    const text = reportOf(world, details);
    expect(text.split(digest).length - 1).toBe(1);
    expect(text).toContain(
      `staging's file compared page for page with production's: equal, SHA-256 ${digest}`,
    );
    expect(text).toMatch(new RegExp(`\\n {4}users +${details.tables.users?.rows}\\n`));
  });

  it.runIf(copy === 'clone')(
    'tells what the clone did, in MB and seconds, and the rows the verification counted',
    () => {
      expect(progress.tasks.map((t) => t.label)).not.toContain('stage (server-side clone)');
      const cloned = progress.lines.find((line) => line.startsWith('stage: cloned '));
      expect(cloned).toMatch(/^stage: cloned \d+\.\d (KB|MB) in \d+\.\d\d s \(PostgreSQL template copy/);
      expect(progress.lines).toContain(
        `  rows cloned: ${Object.entries(details.tables)
          .map(([name, t]) => `${name} ${t.rows?.toLocaleString('en')}`)
          .join(', ')}`,
      );
      const clone = (details as unknown as { clone: { ms: number; bytes: number } }).clone;
      expect(clone.bytes).toBeGreaterThan(1024 * 1024);
      expect(clone.ms).toBeGreaterThan(0);
      const text = reportOf(world, details);
      expect(text).toMatch(
        /staging cloned by the server: \d+\.\d MB in \d+\.\d\d s \(PostgreSQL template copy/,
      );
      expect(text).toMatch(new RegExp(`\\n {4}users +${details.tables.users?.rows}  pg-record-sum:`));
      expect(text).not.toMatch(/0 rows\/s/);
    },
  );

  it.runIf(kind !== 'sqlite' && release === '1.0.0')('copies large tables in several batches', () => {
    const task = progress.tasks.find((t) => t.label === 'stage user_attributes');
    expect(task?.advances.length).toBeGreaterThan(2);
    expect(task?.advances.reduce((a, b) => a + b, 0)).toBe(details.tables.user_attributes?.rows);
  });

  it('moves the id generators past the copied ids', async () => {
    const before = await sql<{ id: number }>`select max(id) as id from roles`.execute(staging.db);
    await sql`insert into roles (tenant_id, name, created_at) values (-1234, 'after-stage', 0)`.execute(
      staging.db,
    );
    const added = await sql<{ id: number }>`select id from roles where name = 'after-stage'`.execute(
      staging.db,
    );
    expect(Number(added.rows[0]?.id)).toBe(Number(before.rows[0]?.id) + 1);
    await sql`delete from roles where name = 'after-stage'`.execute(staging.db);
  });

  it('fails naming the table that differs, and a resumed run copies it again', async () => {
    await sql`update users set username = 'tampered' where id = ${LARGEST_ID}`.execute(staging.db);
    const failure = await stageStep
      .run(world.context, details as unknown as RecordedStage)
      .catch((error: unknown) => error);
    expect(isTesseraError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/users: same row count .* different content/);
    expect((failure as Error).message).not.toMatch(/roles:/);

    const previous = world.context.journal.step(stageStep).details as Partial<RecordedStage>;
    expect((previous.tables as Record<string, StagedTable>).users?.status).toBe('copying');
    await stageStep.run(world.context, previous);
    production = await world.context.production();
    staging = await world.context.staging();
    expect(await allRows(staging)).toEqual(await allRows(production));
  });
});

describe.each(DATABASE_KINDS)('stage step on %s resumed after an interruption', (kind) => {
  let world: UpgradeFixture;

  beforeAll(async () => {
    // SQLite copies the whole database at once: interrupted after the copy, before any table is recorded.
    const interruptAt =
      kind === 'sqlite'
        ? { task: /^stage \(/, on: 'done' as const }
        : { task: /^stage users$/, on: 'advance' as const };
    world = await createUpgradeFixture(kind, {
      release: '2.0.0',
      prepare: (db) => addEdgeRows(db, '2.0.0'),
      progress: recordingProgress(interruptAt),
      noClone: true,
    });
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('skips the tables recorded done, redoes the one in progress and verifies them all', async () => {
    await expect(stageStep.run(world.context, undefined)).rejects.toThrow(/interrupted/);
    const previous = world.context.journal.step(stageStep).details as Partial<RecordedStage>;
    const recorded = previous.tables as Record<string, StagedTable>;
    if (kind === 'sqlite') {
      expect(Object.values(recorded).every((t) => t.status === 'copying')).toBe(true);
    } else {
      expect(recorded.users?.status).toBe('copying');
      // The largest tables go first, two at a time: by the time users is under way one of them is done.
      expect(Object.values(recorded).some((t) => t.status === 'done')).toBe(true);
    }

    const resumed = recordingProgress();
    const details = (await stageStep.run(
      world.contextWith({ progress: resumed }),
      previous,
    )) as unknown as StageDetails;
    const copied = resumed.tasks.filter((t) => t.label.startsWith('stage ')).map((t) => t.label);
    if (kind !== 'sqlite') {
      // Done tables are skipped unless a table they reference is copied again (emptying it may cascade).
      const parentsOf = new Map(
        (await listTables(await world.context.production())).map((t) => [t.name, t.parents ?? []]),
      );
      const redone = new Set(Object.keys(recorded).filter((name) => recorded[name]?.status !== 'done'));
      for (const [name, parents] of parentsOf) if (parents.some((p) => redone.has(p))) redone.add(name);
      expect(copied.sort()).toEqual([...redone].map((name) => `stage ${name}`).sort());
      expect(copied).toContain('stage users');
    }
    // Every table is verified again, the skipped ones included: SQLite's by one digest of the whole file.
    const verified = resumed.tasks.filter((t) => t.label.startsWith('verify ')).map((t) => t.label);
    if (kind === 'sqlite') expect(verified).toEqual(['verify (page digests of both files)']);
    else expect(verified.length).toBe(world.context.plan.tables.length);
    expect(Object.keys(details.tables).sort()).toEqual(world.context.plan.tables.map((t) => t.name).sort());
    expect(await allRows(await world.context.staging())).toEqual(
      await allRows(await world.context.production()),
    );
  });
});

describe.each(DATABASE_KINDS)('stage step on %s with no optional ability resolved', (kind) => {
  let world: UpgradeFixture;

  beforeAll(async () => {
    world = await createUpgradeFixture(kind, { release: '2.0.0', prepare: (db) => addEdgeRows(db, '2.0.0') });
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('takes the general path the run resolved, whatever the dialect offers: rows streamed, compared row by row', async () => {
    const progress = recordingProgress();
    const details = (await stageStep.run(
      world.contextWith({ abilities: {}, progress }),
      undefined,
    )) as unknown as StageDetails;
    expect(details.method).toBe('rows streamed in primary-key order into batched bulk inserts');
    expect(details).not.toHaveProperty('pageDigest');
    const verified = progress.tasks.filter((t) => t.label.startsWith('verify ')).map((t) => t.label);
    expect(verified.length).toBe(world.context.plan.tables.length);
    expect(Object.values(details.tables).every((t) => t.status === 'done')).toBe(true);
    expect(await allRows(await world.context.staging())).toEqual(
      await allRows(await world.context.production()),
    );
  });
});

describe('stage step on postgres when the server cannot clone', () => {
  let world: UpgradeFixture;

  beforeAll(async () => {
    world = await createUpgradeFixture('postgres', {
      release: '2.0.0',
      prepare: (db) => addEdgeRows(db, '2.0.0'),
    });
  });
  afterAll(async () => {
    await world?.dispose();
  });

  it('copies table by table when another session holds production, and says why in the method', async () => {
    // A session of its own on production: the template copy needs production free of sessions.
    const holder = await openDatabase<unknown>(world.productionUrl, world.oldHome);
    const oid = sql<{
      oid: number;
    }>`select oid::int8 as oid from pg_database where datname = current_database()`;
    const stagingOid = (await oid.execute((await world.context.staging()).db)).rows[0]?.oid;
    try {
      await sql`select 1`.execute(holder.db);
      const details = (await stageStep.run(world.context, undefined)) as unknown as StageDetails;
      expect(details.method).toMatch(/binary COPY \(no clone: 1 session\(s\) on tessera_test_prod_/);
      expect(Object.values(details.tables).every((t) => t.status === 'done')).toBe(true);
    } finally {
      await holder.close();
    }
    const staging = await world.context.staging();
    // Refused before anything was dropped: the very database the operator created holds the copy.
    expect((await oid.execute(staging.db)).rows[0]?.oid).toBe(stagingOid);
    expect(await allRows(staging)).toEqual(await allRows(await world.context.production()));
  });
});

describe.each(['postgres', 'mysql'] as const)(
  'stage step on %s, table by table, and the id generators',
  (kind) => {
    let world: UpgradeFixture;

    beforeAll(async () => {
      world = await createUpgradeFixture(kind, {
        release: '1.0.0',
        noClone: true,
        // Production handed out ids it no longer holds: the newest roles were deleted.
        prepare: async (db) => {
          for (const name of ['gone-1', 'gone-2']) {
            await sql`insert into roles (tenant_id, name, created_at) values (-1234, ${name}, 0)`.execute(
              db.db,
            );
          }
          await sql`delete from roles where name like 'gone-%'`.execute(db.db);
        },
      });
    });
    afterAll(async () => {
      await world?.dispose();
    });

    it("goes on where production's would, not after the largest id copied", async () => {
      const production = await world.context.production();
      const next = await production.dialect.nextIdentity?.(production.db, 'roles', 'id');
      const largest = await sql<{ id: number }>`select max(id) as id from roles`.execute(production.db);
      expect(next).toBeGreaterThan(Number(largest.rows[0]?.id) + 1);

      await stageStep.run(world.context, undefined);
      const staging = await world.context.staging();
      await sql`insert into roles (tenant_id, name, created_at) values (-1234, 'after-stage', 0)`.execute(
        staging.db,
      );
      const added = await sql<{ id: number }>`select id from roles where name = 'after-stage'`.execute(
        staging.db,
      );
      expect(Number(added.rows[0]?.id)).toBe(next);
      // Production was only read.
      expect(await production.dialect.nextIdentity?.(production.db, 'roles', 'id')).toBe(next);
    });
  },
);
