import type { AppStatus, RunningApp } from './contract.js';

/**
 * `app.settled()`, waited for at most `timeoutMs`: its status once it has left `starting`, or as it is
 * then. For callers that must answer in bounded time (a request, an upload).
 */
export async function settledWithin(app: RunningApp, timeoutMs: number): Promise<AppStatus> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<AppStatus>((resolve) => {
    timer = setTimeout(() => resolve(app.status()), timeoutMs);
  });
  try {
    return await Promise.race([app.settled(), late]);
  } finally {
    clearTimeout(timer);
  }
}
