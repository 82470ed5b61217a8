import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Schema } from '../db/schema.js';
import { writeAck } from './acks.js';
import { type MaintenanceState, NEVER_SWITCHED } from './state.js';

/** How long a node waits for its writes in flight before it acknowledges `on` anyway, saying how many run. */
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export interface MaintenanceModeOptions {
  db: Kysely<Schema>;
  logger: Logger;
  drainTimeoutMs?: number;
}

/** Ends one write counted by `beginWrite`; calling it again does nothing. */
export type WriteDone = () => void;

/**
 * One node's view of the maintenance mode and its gate for writes. A write is counted from the moment it
 * is let in until its answer goes out. On learning of `on`, the gate shuts at once (JavaScript runs one
 * thing at a time, so no write can slip in between), the writes already in are waited for, and only then
 * is the generation acknowledged in the database: a write in flight when the mode switched on has either
 * completed before `tessera maintenance on` sees every acknowledgement, or was refused.
 */
export class MaintenanceMode {
  private current: MaintenanceState = NEVER_SWITCHED;
  private inFlight = 0;
  private readonly drainWaiters = new Set<() => void>();
  private readonly listeners: ((state: MaintenanceState) => void)[] = [];
  private nodeId: string | undefined;
  private ackedGeneration = 0;
  /** Acknowledgements are written one after the other, in generation order. */
  private acking: Promise<void> = Promise.resolve();
  private readonly db: Kysely<Schema>;
  private readonly logger: Logger;
  private readonly drainTimeoutMs: number;

  constructor(options: MaintenanceModeOptions) {
    this.db = options.db;
    this.logger = options.logger.child({ component: 'maintenance' });
    this.drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  }

  get state(): MaintenanceState {
    return this.current;
  }

  get on(): boolean {
    return this.current.on;
  }

  /** Writes let in and not answered yet. */
  get writesInFlight(): number {
    return this.inFlight;
  }

  /** Lets a write in (and counts it until the returned function is called), or undefined while on. */
  beginWrite(): WriteDone | undefined {
    if (this.current.on) return undefined;
    this.inFlight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of [...this.drainWaiters]) wake();
    };
  }

  /** Called with the new state after every switch this node learns of. */
  onChange(listener: (state: MaintenanceState) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Takes a state read from the database (or just written by this node). Only a later generation
   * changes anything, so a slow read can never put an older state back.
   */
  learn(state: MaintenanceState): void {
    if (state.generation <= this.current.generation) {
      this.ensureAcked();
      return;
    }
    const was = this.current.on;
    this.current = state;
    if (was !== state.on)
      this.logger.info(
        { on: state.on, generation: state.generation, by: state.by, message: state.message },
        state.on ? 'maintenance mode on: writes are refused' : 'maintenance mode off: writes are accepted',
      );
    for (const listener of this.listeners) listener(state);
    this.ensureAcked();
  }

  /** This node is registered under `nodeId`: from now on it acknowledges what it applies. */
  attachNode(nodeId: string): void {
    this.nodeId = nodeId;
    this.ensureAcked();
  }

  /** Waits for the acknowledgements already under way (a stopping node, a test). */
  async settled(): Promise<void> {
    await this.acking;
  }

  /** Queues the acknowledgement of the current generation unless it is written or queued already. */
  private ensureAcked(): void {
    const generation = this.current.generation;
    if (this.nodeId === undefined || generation === 0 || this.ackedGeneration >= generation) return;
    this.ackedGeneration = generation;
    const nodeId = this.nodeId;
    this.acking = this.acking.then(async () => {
      // A later switch already came in: its own acknowledgement follows, this one would say nothing.
      if (this.current.generation !== generation) return;
      const inFlight = this.current.on ? await this.drain() : 0;
      if (inFlight > 0)
        this.logger.warn(
          { inFlight, generation, waitedMs: this.drainTimeoutMs },
          'maintenance mode on, but writes are still running; acknowledged with their number',
        );
      try {
        await writeAck(this.db, { nodeId, generation, inFlight, at: Date.now() });
      } catch (error) {
        // Tried again at the next read of the state (every heartbeat period at most).
        this.ackedGeneration = Math.min(this.ackedGeneration, generation - 1);
        this.logger.warn(
          { generation, reason: String(error) },
          'cannot record the maintenance acknowledgement',
        );
      }
    });
  }

  /** Resolves once no write is in flight, or after the drain timeout: with the number still running. */
  private drain(): Promise<number> {
    if (this.inFlight === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.drainWaiters.delete(finish);
        resolve(this.inFlight);
      };
      const timer = setTimeout(finish, this.drainTimeoutMs);
      timer.unref();
      this.drainWaiters.add(finish);
    });
  }
}
