import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildFixture } from '../../src/releases/fixtures/build.js';
import { scratchFolder } from '../helpers/databases.js';
import { upgradeArgs } from '../helpers/upgrade-args.js';

const CLI = path.resolve('bin/tessera.js');

/**
 * A home made by a real `tessera upgrade` from a small 1.1.0 fixture on SQLite, so that it holds the
 * journal that run wrote. Needs the built CLI (`npm run build`).
 */
export async function upgradedHome(password: string): Promise<{ home: string; remove: () => void }> {
  const scratch = scratchFolder('console-upgrade');
  const oldHome = path.join(scratch.dir, 'old');
  const home = path.join(scratch.dir, 'new');
  await buildFixture({ release: '1.1.0', home: oldHome, tenants: 1, users: 4, password });
  const run = spawnSync(
    process.execPath,
    [
      CLI,
      ...upgradeArgs({
        fromHome: oldHome,
        home,
        stagingUrl: 'sqlite:repository/database/tessera.db',
        checkLogin: `admin:${password}`,
      }),
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (run.status !== 0)
    throw new Error(`tessera upgrade failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  return { home, remove: scratch.remove };
}
