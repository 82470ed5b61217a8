import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { InvalidationBus } from '../cluster/bus.js';
import type { Schema } from '../db/schema.js';
import type { MaintenanceMode } from './mode.js';
import { readMaintenanceState } from './state-row.js';

export interface FollowOptions {
  mode: MaintenanceMode;
  db: Kysely<Schema>;
  bus: InvalidationBus;
  /** `cluster.heartbeat_seconds`: how late a node without Redis (or one that missed a message) may learn. */
  periodMs: number;
  logger: Logger;
}

export interface MaintenanceFollower {
  /** Reads the state now and applies it. Never throws. */
  refresh(): Promise<void>;
  stop(): void;
}

/**
 * Keeps a node's mode in step with the database: at once when another node (or the CLI) announces a
 * switch on the bus, and once per heartbeat period in any case, since without Redis the bus reaches this
 * node only and with it a message can be missed (a lost subscription). The message only says "read
 * again": the row is the truth, so a message that comes late or twice changes nothing.
 */
export function followMaintenance(options: FollowOptions): MaintenanceFollower {
  const { mode, db, bus, logger } = options;
  let stopped = false;
  let reading: Promise<void> | undefined;
  let readAgain = false;
  const refresh = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    // One read at a time; one asked for meanwhile follows it, since it may be about a later switch.
    if (reading !== undefined) {
      readAgain = true;
      return reading;
    }
    reading = (async () => {
      try {
        do {
          readAgain = false;
          mode.learn(await readMaintenanceState(db));
        } while (readAgain && !stopped);
      } catch (error) {
        logger.warn({ reason: String(error) }, 'cannot read the maintenance state; trying again');
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };
  bus.onMessage((message) => {
    if (message.kind === 'maintenance' && message.generation > mode.state.generation) void refresh();
  });
  bus.onSubscription((subscribed) => {
    if (subscribed) void refresh();
  });
  const timer = setInterval(() => void refresh(), options.periodMs);
  timer.unref();
  return {
    refresh,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
