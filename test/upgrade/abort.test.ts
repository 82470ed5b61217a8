import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { abortUpgrade } from '../../src/upgrade/abort.js';
import { Journal, journalPath } from '../../src/upgrade/journal.js';
import { choosePath } from '../../src/upgrade/path-choice.js';
import { stepsFor } from '../../src/upgrade/steps/index.js';
import { promoteStep } from '../../src/upgrade/steps/promote/promote.js';
import type { UpgradePlan } from '../../src/upgrade/upgrade-plan.js';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function newHome(): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'tessera-abort-'));
  folders.push(folder);
  return path.join(folder, 'new');
}

/** An online upgrade's journal in `home`, as the runner writes it once the preflight passed. */
function onlineJournal(home: string): Journal {
  const plan: UpgradePlan = {
    sourceRelease: '2.0.0',
    targetRelease: '2.1.0',
    hops: ['2.1.0'],
    kind: 'postgres',
    oldConfigFormat: '2.0',
    productionUrl: 'postgres://postgres@127.0.0.1:5432/prod',
    stagingUrl: 'postgres://postgres@127.0.0.1:5432/staging',
    tables: [],
    path: choosePath({
      state: 'live',
      sessions: [],
      nodes: [
        {
          nodeId: 'n1',
          host: 'h',
          port: 1,
          release: '2.0.1',
          pid: 1,
          secondsSinceHeartbeat: 0,
          locked: true,
        },
      ],
    }),
  };
  const command = { fromHome: path.join(home, '..', 'old'), home, stagingUrl: plan.stagingUrl };
  return Journal.create(
    journalPath(home),
    command,
    plan,
    stepsFor(plan).map((step) => step.name),
  );
}

describe('tessera upgrade --abort refusals (exit 2: nothing is touched)', () => {
  it('refuses a home without an upgrade journal', async () => {
    await expect(abortUpgrade(newHome())).rejects.toMatchObject({
      code: 'BAD_USAGE',
      exitCode: 2,
      message: expect.stringContaining('Nothing to abort'),
    });
  });

  it('refuses once promote retired production, even if promote did not end: the freeze must stay', async () => {
    const home = newHome();
    const journal = onlineJournal(home);
    journal.recordFreeze({ generation: 3, startedAt: 1, ackedAt: 2, message: 'frozen' });
    journal.startStep(promoteStep);
    journal.markForResume(promoteStep, {
      retired: { database: 'prod', version: '2.0.0', checksum: 'c', alreadyRetired: false },
    });
    await expect(abortUpgrade(home)).rejects.toMatchObject({
      code: 'BAD_USAGE',
      exitCode: 2,
      message: expect.stringContaining('production is retired'),
    });
    expect(Journal.load(journalPath(home)).data.status).toBe('running');
  });
});
