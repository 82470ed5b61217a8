import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The application runtime's series (README, Applications), labelled by tenant domain and app name, in the
 * server's registry. Structurally it is the runtime's `AppRequestMetrics`; telemetry is below webapps, so
 * it names no type of theirs.
 */
export class AppMetrics {
  private readonly requests: Counter<'tenant' | 'app' | 'status'>;
  private readonly duration: Histogram<'tenant' | 'app'>;
  private readonly restarts: Counter<'tenant' | 'app'>;
  private readonly memory: Gauge<'tenant' | 'app'>;
  private readonly eventLoop: Gauge<'tenant' | 'app'>;
  /** The status codes seen per app, so that `forget` can remove every request series of it. */
  private readonly statuses = new Map<string, Set<string>>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'tessera_app_requests_total',
      help: 'Requests forwarded to a Node.js app, by status code',
      labelNames: ['tenant', 'app', 'status'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'tessera_app_request_duration_seconds',
      help: 'Time a Node.js app took to answer',
      labelNames: ['tenant', 'app'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.restarts = new Counter({
      name: 'tessera_app_restarts_total',
      help: "Restarts of a Node.js app's process",
      labelNames: ['tenant', 'app'] as const,
      registers,
    });
    this.memory = new Gauge({
      name: 'tessera_app_memory_bytes',
      help: "Resident memory of a Node.js app's process at its last heartbeat",
      labelNames: ['tenant', 'app'] as const,
      registers,
    });
    this.eventLoop = new Gauge({
      name: 'tessera_app_event_loop_utilization',
      help: "Event-loop utilisation (0..1) of a Node.js app's process over its last heartbeat period",
      labelNames: ['tenant', 'app'] as const,
      registers,
    });
  }

  observeRequest(tenant: string, app: string, status: number, seconds: number): void {
    const code = String(status);
    const key = seriesKey(tenant, app);
    const seen = this.statuses.get(key) ?? new Set<string>();
    this.statuses.set(key, seen);
    seen.add(code);
    this.requests.inc({ tenant, app, status: code });
    this.duration.observe({ tenant, app }, seconds);
  }

  countRestart(tenant: string, app: string): void {
    this.restarts.inc({ tenant, app });
  }

  observeProcess(tenant: string, app: string, memoryBytes: number, eventLoopUtilization: number): void {
    this.memory.set({ tenant, app }, memoryBytes);
    this.eventLoop.set({ tenant, app }, eventLoopUtilization);
  }

  /** Removes every series of an app that was undeployed or stopped, so it does not linger in scrapes. */
  forget(tenant: string, app: string): void {
    const key = seriesKey(tenant, app);
    for (const status of this.statuses.get(key) ?? []) this.requests.remove({ tenant, app, status });
    this.statuses.delete(key);
    this.duration.remove({ tenant, app });
    this.restarts.remove({ tenant, app });
    this.memory.remove({ tenant, app });
    this.eventLoop.remove({ tenant, app });
  }
}

function seriesKey(tenant: string, app: string): string {
  return `${tenant}\u0000${app}`;
}
