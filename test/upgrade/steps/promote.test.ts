import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dropDatabase } from '../../../src/db/connection.js';
import { buildFixture, storesDatabaseUrl } from '../../../src/releases/fixtures/build.js';
import { inspectSchema } from '../../../src/releases/guard.js';
import { HISTORY_TABLE, historyDb, RETIRED_SCRIPT } from '../../../src/releases/history.js';
import { CURRENT_RELEASE } from '../../../src/releases/matrix.js';
import { startServer } from '../../../src/server/start.js';
import { preflightStep } from '../../../src/upgrade/steps/preflight/preflight.js';
import {
  PROMOTED_FILE,
  promoteStep,
  retirementChecksum,
} from '../../../src/upgrade/steps/promote/promote.js';
import { DATABASE_KINDS } from '../../helpers/databases.js';
import { fixtureAtCurrentRelease } from '../../helpers/fixtures.js';
import { writeConfig } from '../../helpers/server.js';
import { type StepScenario, stepScenario } from './scenario.js';

const OUTAGE_BEGAN_MS_AGO = 5_000;

/**
 * Production is a 1.1.0 fixture; the new home is what the earlier steps leave: a home and database at the
 * current release (here built by the 2.0.0 fixture straight into the new home, on the staging URL, and
 * brought to the current release in place).
 */
async function readyToPromote(kind: (typeof DATABASE_KINDS)[number]): Promise<StepScenario> {
  const scenario = await stepScenario(kind, { release: '1.1.0' });
  const { context, newHome } = scenario;
  await buildFixture({
    release: '2.0.0',
    home: newHome,
    databaseUrl: context.plan.stagingUrl,
    tenants: 1,
    users: 2,
  });
  await fixtureAtCurrentRelease(newHome, context.plan.stagingUrl);
  if (kind !== 'sqlite')
    scenario.onDispose(() => dropDatabase(storesDatabaseUrl(context.plan.stagingUrl, newHome), newHome));
  context.journal.markForResume(preflightStep, { noLiveNodeAt: Date.now() - OUTAGE_BEGAN_MS_AGO });
  return scenario;
}

/** A home of the current format of its own on production's database: what an operator starting an old node would get. */
function probeHome(scenario: StepScenario): { home: string; remove: () => void } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tessera-probe-'));
  const url =
    scenario.kind === 'sqlite'
      ? `sqlite:${path.join(scenario.oldHome, 'repository/database/tessera.db')}`
      : scenario.productionUrl;
  writeConfig(home, url);
  return { home, remove: () => rmSync(home, { recursive: true, force: true }) };
}

describe.each(DATABASE_KINDS)('promote step on %s', (kind) => {
  let scenario: StepScenario | undefined;
  afterEach(async () => {
    await scenario?.dispose();
    scenario = undefined;
  });

  it('retires production, measures the outage until the new release answers, and is idempotent', async () => {
    scenario = await readyToPromote(kind);
    const { context, newHome } = scenario;
    const production = await context.production();
    expect((await inspectSchema(production, '1.1.0')).status).toBe('current');

    const lines = await promoteStep.describe(context);
    expect(lines[0]).toMatch(/^mark production .* retired/);
    expect((await inspectSchema(production, '1.1.0')).status).toBe('current');

    const details = await promoteStep.run(context, undefined);
    expect(await inspectSchema(production)).toEqual({ status: 'retired', level: '1.1.0' });
    const retiredRows = () =>
      historyDb(production.db)
        .selectFrom(HISTORY_TABLE)
        .selectAll()
        .where('script', '=', RETIRED_SCRIPT)
        .execute();
    expect(await retiredRows()).toEqual([
      expect.objectContaining({
        version: '1.1.0',
        checksum: retirementChecksum(context.journal.data.id),
        statements_total: 0,
        statements_applied: 0,
      }),
    ]);
    expect(details.retired).toMatchObject({ version: '1.1.0', alreadyRetired: false });
    // The new release ran in a process of its own: its peak memory is recorded beside the upgrade's.
    expect(details.childPeakRssMb).toBeGreaterThan(30);

    const outage = context.journal.data.outage;
    expect(outage?.durationMs).toBeGreaterThanOrEqual(OUTAGE_BEGAN_MS_AGO);
    expect(outage?.durationMs).toBeLessThan(OUTAGE_BEGAN_MS_AGO + 60_000);
    expect(Date.parse(outage?.endedAt ?? '')).toBe(details.readyAt);
    expect(scenario.output.join('\n')).toMatch(/Outage: \d+\.\d\d s/);

    const promoted = readFileSync(path.join(newHome, 'upgrade', PROMOTED_FILE), 'utf8');
    expect(promoted).toContain(`promoted 1.1.0 -> ${CURRENT_RELEASE}`);
    expect(promoted).toContain(
      `runs on ${context.plan.stagingUrl.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}`,
    );

    // A resumed promote changes nothing more, and keeps the moment the new release first answered.
    const again = await promoteStep.run(context, details);
    expect(again.retired).toMatchObject({ alreadyRetired: true });
    expect(again.readyAt).toBe(details.readyAt);
    expect(await retiredRows()).toHaveLength(1);

    const probe = probeHome(scenario);
    try {
      await expect(
        startServer({ home: probe.home, port: 0, host: '127.0.0.1', stdoutLogs: false }),
      ).rejects.toMatchObject({
        code: 'SCHEMA_RETIRED',
      });
    } finally {
      probe.remove();
    }
  });
});

describe('promote step refusals', () => {
  let scenario: StepScenario | undefined;
  afterEach(async () => {
    await scenario?.dispose();
    scenario = undefined;
  });

  it('leaves production alone when the new home does not point at the upgraded database', async () => {
    scenario = await readyToPromote('sqlite');
    const { context, newHome } = scenario;
    writeConfig(newHome, 'sqlite:repository/database/somewhere-else.db');
    await expect(promoteStep.run(context, undefined)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect((await inspectSchema(await context.production(), '1.1.0')).status).toBe('current');
  });
});
