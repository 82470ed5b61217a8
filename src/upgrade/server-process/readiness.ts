import { TesseraError } from '../../errors.js';
import type { ServerStarter, ServerStopReport } from './protocol.js';

export interface Readiness {
  /** Epoch ms of the first 200 from `/readyz`. */
  readyAt: number;
  /** From the start call to that answer. */
  startupMs: number;
  /** What stopping the server reported (the peak memory of its process). */
  stopped: ServerStopReport;
}

const READY_WAIT_MS = 30_000;
const READY_POLL_MS = 50;

/**
 * Starts the release on a home, waits until `/readyz` says it serves its database, and stops it again:
 * the moment the new release answers, which ends the outage.
 */
export async function measureReadiness(
  startServer: ServerStarter,
  home: string,
  waitMs = READY_WAIT_MS,
): Promise<Readiness> {
  const started = performance.now();
  const server = await startServer({ home });
  let readyAt: number;
  try {
    readyAt = await firstReady(server.url, home, waitMs);
  } catch (error) {
    await server.close();
    throw error;
  }
  const startupMs = Math.round(performance.now() - started);
  return { readyAt, startupMs, stopped: await server.close() };
}

/** Epoch ms of the first 200 from `/readyz`. */
async function firstReady(url: string, home: string, waitMs: number): Promise<number> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(waitMs) });
    await response.arrayBuffer();
    if (response.status === 200) return Date.now();
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
}
