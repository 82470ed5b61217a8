import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { Schema } from '../../../src/db/schema.js';
import { isTesseraError } from '../../../src/errors.js';
import { CURRENT_RELEASE } from '../../../src/releases/matrix.js';
import { migrateTo } from '../../../src/releases/migrator.js';
import { issueTenantId, readTenantIdMark } from '../../../src/tenants/id-mark.js';
import { configureStep } from '../../../src/upgrade/steps/configure/configure.js';
import { insertSmokeAdmin } from '../../../src/upgrade/steps/smoke/admin.js';
import type { CheckRecord } from '../../../src/upgrade/steps/smoke/check-log.js';
import { smokeNames } from '../../../src/upgrade/steps/smoke/names.js';
import { countRows } from '../../../src/upgrade/steps/smoke/row-counts.js';
import { smokeStep } from '../../../src/upgrade/steps/smoke/smoke.js';
import { DATABASE_KINDS } from '../../helpers/databases.js';
import { allRows } from '../../helpers/rows.js';
import { type StepScenario, stepScenario } from './scenario.js';

const FIXTURE_PASSWORD = 'tessera';

/**
 * A 2.0.0 fixture migrated to the current release stands in for staging after the migrate step: the old home
 * is a 2.0.0 home, "staging" is its database (an absolute path for SQLite, so that the new home reaches the
 * same file), and the configure step has made the new home from the old one.
 */
async function upgradedScenario(kind: (typeof DATABASE_KINDS)[number]): Promise<StepScenario> {
  const scenario = await stepScenario(kind, {
    release: '2.0.0',
    stagingUrl: (dir, productionUrl) =>
      kind === 'sqlite'
        ? `sqlite:${path.join(dir, 'old', 'repository', 'database', 'tessera.db')}`
        : productionUrl,
  });
  await migrateTo(await scenario.context.staging(), CURRENT_RELEASE);
  await configureStep.run(scenario.context, undefined);
  return scenario;
}

async function firstTenantDomain(scenario: StepScenario): Promise<string> {
  const db = (await scenario.context.staging()).db as unknown as Kysely<Schema>;
  const row = await db.selectFrom('tenants').select('domain').where('id', '=', 1).executeTakeFirstOrThrow();
  return row.domain;
}

function expectNoSmokeFolders(scenario: StepScenario): void {
  const { newLayout } = scenario.context;
  expect(readdirSync(newLayout.work).filter((name) => name.startsWith('smoke-'))).toEqual([]);
  expect(readdirSync(newLayout.backups)).toEqual([]);
  expect(readdirSync(newLayout.tenants).sort()).toEqual(['1', '2']);
}

describe.each(DATABASE_KINDS)('smoke step on %s', (kind) => {
  let scenario: StepScenario | undefined;
  afterEach(async () => {
    await scenario?.dispose();
    scenario = undefined;
  });

  it('passes on an upgraded database and leaves every table exactly as it found it', async () => {
    scenario = await upgradedScenario(kind);
    const { context } = scenario;
    const domain = await firstTenantDomain(scenario);
    context.options.checkLogins = [
      { username: 'admin', password: FIXTURE_PASSWORD },
      { username: `admin@${domain}`, password: FIXTURE_PASSWORD },
    ];
    const staging = await context.staging();
    const before = await allRows(staging);

    const lines = await smokeStep.describe(context);
    expect(lines.join('\n')).toContain(`log in as existing users: admin, admin@${domain}`);

    const details = await smokeStep.run(context, undefined);
    const checks = details.checks as CheckRecord[];
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    const names = checks.map((c) => c.name);
    const { runId } = details as { runId: string };
    for (const expected of [
      `create tenant a-${runId}.smoke.invalid`,
      `create store SMOKE_B in b-${runId}.smoke.invalid`,
      `authenticate SMOKE_A/smoke-user@a-${runId}.smoke.invalid`,
      `authenticate smoke-user@b-${runId}.smoke.invalid`,
      `refuse SMOKE_A/smoke-user@b-${runId}.smoke.invalid (another tenant's store)`,
      `deploy and serve /t/a-${runId}.smoke.invalid/smoke-${runId}/`,
      'log in as existing user admin',
      `log in as existing user admin@${domain}`,
      `remove tenant b-${runId}.smoke.invalid`,
      'stop the new release',
    ]) {
      expect(names).toContain(expected);
    }
    expect(details.verified).toEqual({ rowCounts: expect.any(Object), leftovers: [] });
    // The new release ran in a process of its own: its peak memory is recorded beside the upgrade's.
    expect(details.childPeakRssMb).toBeGreaterThan(30);

    expect(await allRows(staging)).toEqual(before);
    expectNoSmokeFolders(scenario);
    expect(scenario.output.join('\n')).toContain('every table has its row count from before');
  });

  it('puts the tenant id mark back as it found it, after moving it on for its own tenants', async () => {
    scenario = await upgradedScenario(kind);
    const { context } = scenario;
    const staging = await context.staging();
    const db = staging.db as unknown as Kysely<Schema>;
    const mark = await db.transaction().execute((trx) => issueTenantId(trx));
    const before = await allRows(staging);

    const details = await smokeStep.run(context, undefined);
    const created = details.created as { id: number }[];
    expect(created.map((t) => t.id)).toEqual([mark + 1, mark + 2]);
    expect(details.tenantIdMarkBefore).toBe(mark);
    expect(await readTenantIdMark(db)).toBe(mark);
    expect(await allRows(staging)).toEqual(before);
  });

  it('fails on a check login with a wrong password, and still removes everything', async () => {
    scenario = await upgradedScenario(kind);
    const { context } = scenario;
    context.options.checkLogins = [
      { username: 'admin', password: FIXTURE_PASSWORD },
      { username: 'admin', password: 'not-the-password' },
    ];
    const staging = await context.staging();
    const before = await allRows(staging);

    const failure = await smokeStep.run(context, undefined).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isTesseraError(failure, 'UNAUTHENTICATED')).toBe(true);
    expect((failure as Error).message).toMatch(/existing user admin could not log in/);

    expect(await allRows(staging)).toEqual(before);
    expectNoSmokeFolders(scenario);
    const recorded = context.journal.step(smokeStep).details as {
      checkLogins: unknown;
      verified: { leftovers: string[] };
    };
    expect(recorded.checkLogins).toEqual([
      { username: 'admin', ok: true, ms: expect.any(Number) },
      { username: 'admin', ok: false, ms: expect.any(Number) },
    ]);
    expect(recorded.verified.leftovers).toEqual([]);
  });
});

describe('smoke step resumed', () => {
  let scenario: StepScenario | undefined;

  /** An upgraded scenario's staging database, its rows before the step, and the names the smoke step uses. */
  async function stagedForSmoke(upgraded: StepScenario) {
    const { context } = upgraded;
    const staging = await context.staging();
    const db = staging.db as unknown as Kysely<Schema>;
    const before = await allRows(staging);
    const names = smokeNames(context.journal.data.id, context.newLayout);
    return { context, staging, db, before, names };
  }
  afterEach(async () => {
    await scenario?.dispose();
    scenario = undefined;
  });

  it('removes what an interrupted attempt left before it starts', async () => {
    scenario = await upgradedScenario('sqlite');
    const { context, staging, db, before, names } = await stagedForSmoke(scenario);
    await insertSmokeAdmin(db, names.admin, 'interrupted-attempt');
    await db
      .insertInto('audit_log')
      .values({
        tenant_id: 3,
        actor: names.auditActor,
        action: 'tenant.create',
        target: 'x',
        detail: null,
        created_at: 1,
      })
      .execute();
    mkdirSync(names.workFolder, { recursive: true });
    const backup = path.join(context.newLayout.backups, 'deleted-tenant-3-1700000000000');
    mkdirSync(backup, { recursive: true });
    writeFileSync(path.join(backup, names.markerFile), '');
    const unrelated = path.join(context.newLayout.backups, 'deleted-tenant-2-1600000000000');
    mkdirSync(unrelated, { recursive: true });

    const details = await smokeStep.run(context, undefined);
    expect(details.removedAfterEarlierAttempt).toEqual({
      tenants: [],
      adminUsers: 1,
      auditRows: 1,
      folders: [backup, names.workFolder].sort(),
    });
    expect(await allRows(staging)).toEqual(before);
    expect(existsSync(unrelated)).toBe(true);
    expect(readdirSync(context.newLayout.backups)).toEqual([path.basename(unrelated)]);
  });

  it('removes the tenant id mark an interrupted attempt made on a database that had none', async () => {
    scenario = await upgradedScenario('sqlite');
    const { context, staging, db, before, names } = await stagedForSmoke(scenario);
    const previous = {
      runId: names.runId,
      rowCountsBefore: await countRows(staging),
      tenantIdMarkBefore: null,
    };
    // The interrupted attempt's tenants made the mark and were then lost with it.
    await db.transaction().execute((trx) => issueTenantId(trx));

    const details = await smokeStep.run(context, previous);
    expect(details.tenantIdMarkBefore).toBeNull();
    expect(await readTenantIdMark(db)).toBeUndefined();
    expect(await allRows(staging)).toEqual(before);
  });
});
