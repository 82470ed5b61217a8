import { setTimeout as delay } from 'node:timers/promises';
import type { Pool } from 'undici';
import { KEY_HEADER } from './contract.js';

const POLL_MS = 200;

/**
 * Asks a started app's `health` path until it answers 2xx: until then it takes no traffic (DESIGN.md
 * section 4). Resolves `true` once healthy; `false` at `deadline` (epoch ms: the start timeout, which makes
 * the failure) or as soon as `abandoned()` says the run is gone. Each answer, or why there was none, goes
 * to `answered`, so that a failed start can say what the app last said.
 */
export async function waitUntilHealthy(
  pool: Pool,
  healthPath: string,
  key: string,
  deadline: number,
  abandoned: () => boolean,
  answered: (last: string) => void,
): Promise<boolean> {
  while (!abandoned()) {
    try {
      const answer = await pool.request({
        path: healthPath,
        method: 'GET',
        headers: { [KEY_HEADER]: key, 'user-agent': 'tessera-health-check' },
        headersTimeout: Math.max(1, deadline - Date.now()),
        bodyTimeout: Math.max(1, deadline - Date.now()),
      });
      await answer.body.dump();
      if (answer.statusCode >= 200 && answer.statusCode < 300) return true;
      answered(`status ${answer.statusCode}`);
    } catch (error) {
      answered(error instanceof Error ? error.message : String(error));
    }
    if (Date.now() + POLL_MS > deadline) break;
    await delay(POLL_MS);
  }
  return false;
}
