import { performance } from 'node:perf_hooks';
import type { HostMessage } from './messages.js';

export const HEARTBEAT_MS = 1000;

/**
 * Tells Tessera every second that the event loop turns, with the memory and the event-loop utilisation
 * since the previous beat. A blocked loop sends nothing, which is what Tessera's watchdog waits for.
 */
export function startHeartbeat(send: (message: HostMessage) => void): NodeJS.Timeout {
  let last = performance.eventLoopUtilization();
  return setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    const { rss, heapUsed } = process.memoryUsage();
    send({ type: 'heartbeat', rss, heapUsed, elu: utilization });
  }, HEARTBEAT_MS);
}
