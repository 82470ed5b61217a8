import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/connection.js';
import {
  type DatabaseKind,
  type DatabaseTarget,
  parseDatabaseUrl,
  withDatabaseName,
} from '../../../src/db/url.js';
import { TesseraError } from '../../../src/errors.js';
import { Journal, journalPath } from '../../../src/upgrade/journal.js';
import { STEP_NAMES } from '../../../src/upgrade/steps/index.js';
import {
  createPreflightStep,
  preflightStep,
  runPreflight,
} from '../../../src/upgrade/steps/preflight/preflight.js';
import type { CheckResult } from '../../../src/upgrade/types.js';
import { DATABASE_KINDS } from '../../helpers/databases.js';
import { databaseDigest, type ScenarioOptions, type StepScenario, stepScenario } from './scenario.js';

const SERVER_KINDS = DATABASE_KINDS.filter((k) => k !== 'sqlite');

let scenario: StepScenario | undefined;

afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});

async function start(kind: DatabaseKind, options: Partial<ScenarioOptions> = {}): Promise<StepScenario> {
  scenario = await stepScenario(kind, { release: '1.0.0', ...options });
  return scenario;
}

/** Production's digest and the new home's absence, to compare after the preflight. */
async function untouched(s: StepScenario): Promise<() => Promise<void>> {
  const before = await databaseDigest(await s.context.production());
  return async () => {
    expect(await databaseDigest(await s.context.production())).toBe(before);
    expect(existsSync(s.newHome)).toBe(false);
  };
}

/** Runs the step, expects a refusal naming exactly `failed`, and returns every check's result. */
async function expectRefusal(
  s: StepScenario,
  failed: string[],
  step = preflightStep,
): Promise<{ error: TesseraError; results: CheckResult[] }> {
  const error = await step.run(s.context, undefined).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TesseraError);
  const refusal = error as TesseraError;
  expect(refusal.code).toBe('PREFLIGHT_FAILED');
  expect(refusal.exitCode).toBe(2);
  const { results } = await runPreflight(s.context);
  const actuallyFailed = results.filter((r) => !r.ok).map((r) => r.name);
  if (step === preflightStep) expect(actuallyFailed).toEqual(failed);
  for (const name of failed) expect(refusal.message).toContain(`- ${name}:`);
  return { error: refusal, results };
}

function result(results: CheckResult[], name: string): CheckResult {
  const found = results.find((r) => r.name === name);
  if (!found) throw new Error(`no check ${name}`);
  return found;
}

describe.each(DATABASE_KINDS)('preflight on %s', (kind) => {
  it('passes on a stopped production with an empty staging, and says when no node was live', async () => {
    const s = await start(kind);
    const check = await untouched(s);
    const before = Date.now();
    const details = await preflightStep.run(s.context, undefined);
    expect(details.noLiveNodeAt).toBeGreaterThanOrEqual(before);
    expect(details.noLiveNodeAt).toBeLessThanOrEqual(Date.now());
    const checks = details.checks as CheckResult[];
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['database-types', true],
      ['staging-database', true],
      ['no-live-node', true],
      ['release-path', true],
      ['disk-space', true],
      ['new-home', true],
    ]);
    expect(result(checks, 'disk-space').message).toMatch(/needs .* free/);
    await check();
    if (kind === 'sqlite') {
      // Nothing can show a 1.0.0 node on SQLite: `unknown`, let through only because the scenario says --yes.
      expect(result(checks, 'no-live-node')).toMatchObject({ ok: true, unknown: true });
      expect(result(checks, 'no-live-node').message).toMatch(
        /^Cannot tell whether a node runs: .*Going on: --yes was given\.$/,
      );
      expect(existsSync(path.join(s.newHome, 'repository/database/tessera.db'))).toBe(false);
    } else {
      expect(result(checks, 'no-live-node').unknown).toBeUndefined();
    }
  });

  it('refuses a staging database that is not empty', async () => {
    const s = await start(kind, {
      stagingUrl: kind === 'sqlite' ? (dir) => `sqlite:${path.join(dir, 'staging.db')}` : undefined,
    });
    const staging = await s.context.staging();
    await staging.db.schema.createTable('leftover').addColumn('id', 'integer').execute();
    const check = await untouched(s);
    const { error } = await expectRefusal(s, ['staging-database']);
    expect(error.message).toContain('not empty: it holds 1 tables (leftover)');
    await check();
  });

  it('refuses a staging URL that names production itself', async () => {
    const s = await start(kind, {
      stagingUrl: (dir, url) =>
        kind === 'sqlite' ? `sqlite:${path.join(dir, 'old', 'repository/database/tessera.db')}` : url,
    });
    const check = await untouched(s);
    // On a server engine the staging check's own connection is, by construction, a session on production,
    // so the live-node check may refuse too: both refusals are right.
    const error = await preflightStep.run(s.context, undefined).then(
      () => undefined,
      (e: unknown) => e as TesseraError,
    );
    expect(error?.code).toBe('PREFLIGHT_FAILED');
    const failed = (await runPreflight(s.context)).results.filter((r) => !r.ok).map((r) => r.name);
    expect(failed).toContain('staging-database');
    expect(failed.filter((name) => name !== 'no-live-node')).toEqual(['staging-database']);
    expect(error?.message).toContain('is the production database itself');
    await check();
  });

  it('refuses a cross-type upgrade', async () => {
    const other: Record<DatabaseKind, DatabaseKind> = {
      sqlite: 'postgres',
      postgres: 'mysql',
      mysql: 'sqlite',
    };
    const s = await start(kind, { stagingKind: other[kind] });
    const check = await untouched(s);
    const { error } = await expectRefusal(s, ['database-types']);
    expect(error.message).toMatch(/an upgrade cannot change the type of database/);
    await check();
  });

  it('refuses a fresh heartbeat in cluster_nodes of a 2.0.0 production, and lets a stale one pass', async () => {
    const s = await start(kind, { release: '2.0.0' });
    const production = await s.context.production();
    const node = {
      node_id: 'node-7',
      host: 'app7.example.com',
      port: 9763,
      release_version: '2.0.0',
      started_at: Date.now() - 3_600_000,
    };
    // The fixture's config says heartbeat_seconds = 10: three missed heartbeats (30 s) and a node is gone.
    await sql`insert into cluster_nodes (node_id, host, port, release_version, started_at, last_heartbeat)
              values (${node.node_id}, ${node.host}, ${node.port}, ${node.release_version}, ${node.started_at}, ${Date.now() - 31_000})`.execute(
      production.db,
    );
    expect(result((await runPreflight(s.context)).results, 'no-live-node').ok).toBe(true);

    await sql`update cluster_nodes set last_heartbeat = ${Date.now() - 2_000}`.execute(production.db);
    const check = await untouched(s);
    // 2.0.0 -> 2.0.1 is a path (a code-only one), so the heartbeat alone refuses.
    const { error } = await expectRefusal(s, ['no-live-node']);
    expect(error.message).toContain('node-7 at app7.example.com:9763 (release 2.0.0, last heartbeat');
    await check();
  });

  it('refuses a new home that holds another home or another upgrade, and accepts its own journal', async () => {
    const s = await start(kind);
    mkdirSync(path.join(s.newHome, 'conf'), { recursive: true });
    writeFileSync(path.join(s.newHome, 'conf', 'tessera.toml'), 'format = "2.0"\n');
    const before = await databaseDigest(await s.context.production());
    let refused = await expectRefusal(s, ['new-home']);
    expect(refused.error.message).toContain('is already a Tessera home');

    const other = Journal.create(
      journalPath(s.newHome),
      s.context.journal.data.command,
      s.context.plan,
      STEP_NAMES,
    );
    refused = await expectRefusal(s, ['new-home']);
    expect(refused.error.message).toContain(`the journal of another upgrade (${other.data.id})`);

    writeFileSync(journalPath(s.newHome), JSON.stringify(s.context.journal.data));
    const { results } = await runPreflight(s.context);
    expect(result(results, 'new-home')).toMatchObject({ ok: true });
    expect(readdirSync(s.newHome).sort()).toEqual(['conf', 'upgrade']);
    expect(await databaseDigest(await s.context.production())).toBe(before);
  });

  it('refuses when the new home has too little disk, with the figures', async () => {
    const s = await start(kind);
    const check = await untouched(s);
    const { error } = await expectRefusal(s, ['disk-space'], createPreflightStep({ freeSpace: () => 1024 }));
    expect(error.message).toMatch(
      /Not enough disk for the backup: needs .* \(2 x database .* \+ old home .*\), 1\.0 KiB free/,
    );
    await check();
  });
});

describe.each(SERVER_KINDS)('preflight on %s server', (kind) => {
  it('refuses a staging database that does not exist, and says how to create it', async () => {
    const s = await start(kind, {
      stagingUrl: (_dir, url) => withDatabaseName(url, `${databaseName(url)}_missing`),
    });
    const stagingUrl = s.context.plan.stagingUrl;
    const server = parseDatabaseUrl(s.productionUrl, s.oldHome) as Extract<DatabaseTarget, { host: string }>;
    const check = await untouched(s);
    const { results } = await expectRefusal(s, ['staging-database']);
    const staging = result(results, 'staging-database');
    expect(staging.message).toContain('cannot be opened (it must exist and be empty)');
    expect(staging.hint).toContain(
      kind === 'postgres' ? `createdb -h ${server.host}` : `CREATE DATABASE \`${server.database}_missing\``,
    );
    await check();
    await expect(openDatabase<unknown>(stagingUrl, s.newHome)).rejects.toMatchObject({
      code: 'DB_CONNECT_FAILED',
    });
  });

  it('refuses while another client is connected to production, and lists it', async () => {
    const s = await start(kind);
    const check = await untouched(s);
    const close = await connectForeignClient(kind, s.productionUrl, s.oldHome);
    try {
      const { error } = await expectRefusal(s, ['no-live-node']);
      expect(error.message).toContain('1 other session is connected to production');
      if (kind === 'postgres') expect(error.message).toContain('node-b@');
    } finally {
      await close();
    }
    expect((await runPreflight(s.context)).results.every((r) => r.ok)).toBe(true);
    await check();
  });
});

describe('preflight on a SQLite production nothing can show a node of', () => {
  it('answers unknown and refuses without --yes', async () => {
    const s = await start('sqlite');
    const check = await untouched(s);
    const step = createPreflightStep();
    const withoutYes = { ...s.context, options: { ...s.context.options, yes: false } };
    const error = await step.run(withoutYes, undefined).then(
      () => undefined,
      (e: unknown) => e as TesseraError,
    );
    expect(error?.code).toBe('PREFLIGHT_FAILED');
    expect(error?.exitCode).toBe(2);
    expect(error?.message).toContain(
      '- no-live-node: unknown: Cannot tell whether a node runs: release 1.0.0 nodes hold no lock',
    );
    expect(error?.message).toContain('then run the same command with --yes');
    const { results } = await runPreflight(withoutYes);
    expect(results.filter((r) => !r.ok).map((r) => [r.name, r.unknown])).toEqual([['no-live-node', true]]);
    await check();
  });
});

describe('preflight release path', () => {
  it.each([
    ['1.0.0', '1.0.0', 'is not newer than'],
    ['1.1.0', '1.0.0', 'is not newer than'],
    ['1.0.0', '9.9.9', 'Unknown release "9.9.9"'],
  ])('refuses %s -> %s', async (from, to, why) => {
    const s = await start('sqlite', { release: from, target: to });
    const check = await untouched(s);
    const { error } = await expectRefusal(s, ['release-path']);
    expect(error.message).toContain(why);
    await check();
  });
});

/** A plain driver connection with its own application name, as a running node would hold. */
async function connectForeignClient(
  kind: DatabaseKind,
  url: string,
  home: string,
): Promise<() => Promise<void>> {
  const target = parseDatabaseUrl(url, home) as Extract<DatabaseTarget, { host: string }>;
  const settings = { host: target.host, port: target.port, user: target.user, password: target.password };
  // A client's goodbye is handled by the server after the client's end() resolves: each close waits until the
  // server no longer lists the session, so that what the next preflight sees does not depend on the load.
  if (kind === 'postgres') {
    const client = new pg.Client({ ...settings, database: target.database, application_name: 'node-b' });
    await client.connect();
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    return async () => {
      await client.end();
      const monitor = new pg.Client({ ...settings, database: 'postgres' }); // not a session on production
      await monitor.connect();
      try {
        await waitUntil(
          async () =>
            (await monitor.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount === 0,
        );
      } finally {
        await monitor.end();
      }
    };
  }
  const connection = await createConnection({ ...settings, database: target.database });
  const threadId = connection.threadId;
  return async () => {
    await connection.end();
    const monitor = await createConnection(settings); // no database: not a session on production
    try {
      await waitUntil(async () => {
        const [rows] = await monitor.query('select id from information_schema.processlist where id = ?', [
          threadId,
        ]);
        return (rows as unknown[]).length === 0;
      });
    } finally {
      await monitor.end();
    }
  };
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`the server still lists the closed session after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function databaseName(url: string): string {
  return (parseDatabaseUrl(url, '.') as Extract<DatabaseTarget, { host: string }>).database;
}
