import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { allRows } from '../helpers/rows.js';
import {
  cleanup,
  expectUpgraded,
  type Scenario,
  scenario,
  THREE_UPGRADES_MS,
  upgrade,
} from './upgrade-scenario.js';

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
