import { TesseraError } from '../../errors.js';
import { startServer } from '../../server/server.js';

export interface Readiness {
  /** Epoch ms of the first 200 from `/readyz`. */
  readyAt: number;
  /** From the start call to that answer. */
  startupMs: number;
}

const READY_WAIT_MS = 30_000;
const READY_POLL_MS = 50;

/**
 * Starts the release on a home, waits until `/readyz` says it serves its database, and stops it again:
 * the moment the new release answers, which ends the outage.
 */
export async function measureReadiness(home: string, waitMs = READY_WAIT_MS): Promise<Readiness> {
  const started = performance.now();
  const server = await startServer({
    home,
    port: 0,
    host: '127.0.0.1',
    stdoutLogs: false,
    logLevel: 'warn',
    pruneGoneNodes: false,
  });
  try {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const response = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(waitMs) });
      await response.arrayBuffer();
      if (response.status === 200)
        return { readyAt: Date.now(), startupMs: Math.round(performance.now() - started) };
      if (Date.now() > deadline) {
        throw new TesseraError(
          'SMOKE_FAILED',
          `The new release did not become ready within ${waitMs / 1000} s (/readyz answered ${response.status}).`,
          {
            hint: `See ${home}/logs/tessera.log, fix the cause, and resume the upgrade with --resume.`,
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  } finally {
    await server.close();
  }
}
