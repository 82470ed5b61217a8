import { Gauge, type Registry } from 'prom-client';
import type { MaintenanceMode } from './mode.js';

/** `tessera_maintenance`: 1 while this node refuses writes for maintenance, else 0. */
export function registerMaintenanceGauge(registry: Registry, mode: MaintenanceMode): void {
  new Gauge({
    name: 'tessera_maintenance',
    help: 'Whether this node is in maintenance mode (1: writes are refused with 503 MAINTENANCE)',
    registers: [registry],
    collect() {
      this.set(mode.on ? 1 : 0);
    },
  });
}
