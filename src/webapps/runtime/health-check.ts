import { setTimeout as delay } from 'node:timers/promises';
import type { Pool } from 'undici';
import { KEY_HEADER } from './contract.js';

const POLL_MS = 200;

/**
 * Asks a started app's `health` path until it answers 2xx: until then it takes no traffic (DESIGN.md
 * section 4). Resolves `undefined` once healthy, else why not, after `timeoutMs` or as soon as `abandoned()`
 * says the run is gone.
 */
export async function waitUntilHealthy(
  pool: Pool,
  healthPath: string,
  key: string,
  timeoutMs: number,
  abandoned: () => boolean,
): Promise<string | undefined> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (!abandoned()) {
    try {
      const answer = await pool.request({
        path: healthPath,
        method: 'GET',
        headers: { [KEY_HEADER]: key, 'user-agent': 'tessera-health-check' },
        headersTimeout: Math.max(1, until - Date.now()),
      });
      await answer.body.dump();
      if (answer.statusCode >= 200 && answer.statusCode < 300) return undefined;
      last = `status ${answer.statusCode}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() + POLL_MS > until) break;
    await delay(POLL_MS);
  }
  return `health check ${healthPath} did not answer 2xx within ${Math.round(timeoutMs / 1000)} s (last: ${last})`;
}
