import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, expectUpgraded, type Scenario, scenario, upgrade } from './upgrade-scenario.js';

// Apart from the SQLite kill points (upgrade-resume.e2e.test.ts) so that the two files can run on two
// workers at once: together they were the suite's longest file.
describe.each(['postgres', 'mysql'] as const)('kill -9 and resume on %s', (kind) => {
  let s: Scenario | undefined;
  afterEach(async () => {
    await cleanup(s);
    s = undefined;
  });

  it.each(['stage:table#3', 'migrate:statement#3', 'after:configure'])(
    'killed at %s, resumed, equal to the expected rows',
    async (point) => {
      s = await scenario(kind, '1.0.0');
      const killed = upgrade(s, [], { TESSERA_UPGRADE_CRASH_AT: point });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const resumed = upgrade(s, ['--resume']);
      expect(resumed.status, resumed.stderr).toBe(0);
      await expectUpgraded(s);
    },
  );
});
