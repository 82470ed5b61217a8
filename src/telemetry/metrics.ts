import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** A prom-client registry per server, so that several servers in one process (tests) never share counters. */
export class ServerMetrics {
  readonly prometheus = new Registry();
  readonly httpRequests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.prometheus],
  });
  readonly httpDuration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.prometheus],
  });
  readonly authentications = new Counter({
    name: 'tessera_authentications_total',
    help: 'Password checks, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.prometheus],
  });

  readonly housekeepingDeleted = new Counter({
    name: 'tessera_housekeeping_deleted_rows_total',
    help: 'Rows deleted by the identity housekeeping: old audit entries, quiet login failures, ended app sessions',
    labelNames: ['table'] as const,
    registers: [this.prometheus],
  });

  constructor() {
    collectDefaultMetrics({ register: this.prometheus, prefix: 'tessera_' });
  }
}
