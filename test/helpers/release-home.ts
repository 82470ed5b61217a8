import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BuiltRelease } from './release-build.js';
import { ADMIN_PASSWORD } from './server.js';

/**
 * Lays out `home` on `databaseUrl` with an older release's own `tessera init`, as an operator of that release
 * would have: its config in its own format, its database at its schema level, the super tenant's admin with
 * the tests' password. Then, as the tests' nodes do, heartbeats every second and logs at `warn`.
 */
export function initReleaseHome(built: BuiltRelease, home: string, databaseUrl: string): void {
  execFileSync(process.execPath, [built.cli, 'init', '--home', home, '--db', databaseUrl], {
    env: { ...process.env, TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const file = path.join(home, 'conf', 'tessera.toml');
  const text = readFileSync(file, 'utf8');
  const tuned = text
    .replace(/^heartbeat_seconds = \d+$/m, 'heartbeat_seconds = 1')
    .replace(/^level = "info"$/m, 'level = "warn"');
  if (!tuned.includes('heartbeat_seconds = 1') || !tuned.includes('level = "warn"'))
    throw new Error(`release ${built.version}'s config has no heartbeat_seconds or logging level to set`);
  writeFileSync(file, tuned);
}
