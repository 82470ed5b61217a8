import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { CLI } from './cluster.js';

/** Runs the CLI to its end (the built one: run `npm run build`); `env` is added to this process's environment. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 60_000,
  });
}
