import { existsSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseKind } from '../../../src/db/url.js';
import { inspectSchema } from '../../../src/releases/guard.js';
import { HISTORY_TABLE, historyDb } from '../../../src/releases/history.js';
import { CURRENT_RELEASE, CURRENT_SCHEMA_LEVEL, upgradePath } from '../../../src/releases/matrix.js';
import { releaseScripts } from '../../../src/releases/scripts.js';
import {
  type HopRecord,
  type MigrateDetails,
  migrateStep,
} from '../../../src/upgrade/steps/migrate/migrate.js';
import { DATABASE_KINDS } from '../../helpers/databases.js';
import { databaseDigest, type StepScenario, stageLikeProduction, stepScenario } from './scenario.js';

let scenario: StepScenario | undefined;

afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});

async function staged(kind: DatabaseKind, release: string): Promise<StepScenario> {
  scenario = await stepScenario(kind, { release });
  await stageLikeProduction(scenario);
  return scenario;
}

function statementCount(release: string, kind: DatabaseKind): number {
  return releaseScripts(release, kind).reduce((sum, s) => sum + s.statements.length, 0);
}

describe.each(DATABASE_KINDS)('migrate on %s', (kind) => {
  it.each(['1.0.0', '1.1.0'])(
    `migrates staging from %s to ${CURRENT_RELEASE} hop by hop and leaves production alone`,
    async (release) => {
      const s = await staged(kind, release);
      const production = await s.context.production();
      const before = await databaseDigest(production);

      const details = await migrateStep.run(s.context, undefined);

      const hops = upgradePath(release, CURRENT_RELEASE);
      expect((details.hops as HopRecord[]).map((h) => [h.release, h.statementsApplied])).toEqual(
        hops.map((hop) => [hop, statementCount(hop, kind)]),
      );
      expect(details.statementsApplied).toBe(hops.reduce((sum, hop) => sum + statementCount(hop, kind), 0));
      for (const hop of details.hops as HopRecord[]) expect(hop.durationMs).toBeGreaterThanOrEqual(0);
      expect(await inspectSchema(await s.context.staging())).toEqual({
        status: 'current',
        level: CURRENT_SCHEMA_LEVEL,
      });
      expect(await inspectSchema(production)).toEqual({ status: 'older', level: release });
      expect(await databaseDigest(production)).toBe(before);

      const journal: Partial<MigrateDetails> = s.context.journal.step(migrateStep).details ?? {};
      expect((journal.hops as HopRecord[]).map((h) => h.release)).toEqual(hops);
      expect(journal.lastStatement).toMatchObject({
        version: CURRENT_SCHEMA_LEVEL,
        script: 'migration.sql',
        statement: statementCount(CURRENT_SCHEMA_LEVEL, kind),
        total: statementCount(CURRENT_SCHEMA_LEVEL, kind),
      });
      expect(s.output).toContain(
        `Migrating staging to ${CURRENT_SCHEMA_LEVEL}: ${statementCount(CURRENT_SCHEMA_LEVEL, kind)} statements in ${(details.hops as HopRecord[]).at(-1)?.durationMs} ms`,
      );

      // Run again after it finished (a resume that finds the work done): nothing runs twice, and the
      // record of each hop stays the one of the attempt that applied it.
      const printed = s.output.length;
      const again = await migrateStep.run(s.context, details);
      expect(s.output.length).toBe(printed);
      expect(again).toMatchObject({ hops: details.hops, statementsApplied: details.statementsApplied });
    },
  );

  it('describes the scripts of every hop, and touches nothing', async () => {
    scenario = await stepScenario(kind, { release: '1.0.0' });
    const lines = await migrateStep.describe(scenario.context);
    expect(lines[0]).toMatch(/^Run on staging .* only \(production is not touched\):$/);
    expect(lines.slice(1)).toEqual([
      `  1.1.0: migration.sql (${statementCount('1.1.0', kind)} statements)`,
      `  2.0.0: migration.sql (${statementCount('2.0.0', kind)} statements)`,
      `  2.1.0: migration.sql (${statementCount('2.1.0', kind)} statements)`,
    ]);
    if (kind === 'sqlite') expect(existsSync(path.join(scenario.newHome))).toBe(false);
  });

  it('refuses a staging database that holds nothing staged', async () => {
    scenario = await stepScenario(kind, { release: '1.0.0' });
    await expect(migrateStep.run(scenario.context, undefined)).rejects.toMatchObject({
      code: 'SCHEMA_EMPTY',
    });
  });
});

describe('migrate on mysql, whose DDL is not transactional', () => {
  const APPLIED_BY_HAND = 3;

  /** Leaves 1.1.0's script stopped after its first statements, as a kill between two statements would. */
  async function halfApplied(): Promise<StepScenario> {
    const s = await staged('mysql', '1.0.0');
    const staging = await s.context.staging();
    const [script] = releaseScripts('1.1.0', 'mysql');
    if (!script) throw new Error('1.1.0 ships no MySQL script');
    await historyDb(staging.db)
      .insertInto(HISTORY_TABLE)
      .values({
        version: '1.1.0',
        script: script.name,
        checksum: script.checksum,
        statements_total: script.statements.length,
        statements_applied: APPLIED_BY_HAND,
        started_at: Date.now(),
        finished_at: null,
        duration_ms: null,
      })
      .execute();
    for (const statement of script.statements.slice(0, APPLIED_BY_HAND)) {
      await sql.raw(statement).execute(staging.db);
    }
    return s;
  }

  it('resumes a half-applied script at the next statement and never runs one twice', async () => {
    scenario = await halfApplied();
    const s = scenario;
    const total = statementCount('1.1.0', 'mysql');
    // The journal of the interrupted attempt is what makes this a resume.
    const details = await migrateStep.run(s.context, { target: CURRENT_RELEASE });
    const [first, second] = details.hops as HopRecord[];
    expect(first).toMatchObject({
      release: '1.1.0',
      resumedAfter: APPLIED_BY_HAND,
      statementsApplied: total - APPLIED_BY_HAND,
    });
    expect(second).toMatchObject({ release: '2.0.0', statementsApplied: statementCount('2.0.0', 'mysql') });
    const staging = await s.context.staging();
    expect(await inspectSchema(staging)).toEqual({ status: 'current', level: CURRENT_SCHEMA_LEVEL });
    // The INSERT into store_domains ran once: one PRIMARY domain per tenant and the super tenant.
    const domains = await sql<{ n: number }>`select count(*) as n from store_domains`.execute(staging.db);
    const tenants = await sql<{ n: number }>`select count(*) as n from tenants`.execute(staging.db);
    expect(Number(domains.rows[0]?.n)).toBe(Number(tenants.rows[0]?.n));
  });

  it('refuses to continue a half-applied script when not resuming', async () => {
    scenario = await halfApplied();
    const s = scenario;
    await expect(migrateStep.run(s.context, undefined)).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPLETE',
      hint: expect.stringContaining('--resume'),
    });
    const history = await historyDb((await s.context.staging()).db)
      .selectFrom(HISTORY_TABLE)
      .select('statements_applied')
      .where('version', '=', '1.1.0')
      .executeTakeFirstOrThrow();
    expect(history.statements_applied).toBe(APPLIED_BY_HAND);
  });
});
