import type { Logger } from 'pino';
import type { InvalidationBus } from './bus.js';

export interface TenantFollowerOptions {
  /** The tenant ids the database holds now. */
  list(): Promise<number[]>;
  /** Serves a tenant (idempotent: the node that created it has done so already). */
  added(tenantId: number): Promise<void>;
  /** Stops serving a tenant (idempotent likewise). */
  removed(tenantId: number): Promise<void>;
  bus: InvalidationBus;
  logger: Logger;
  intervalMs: number;
}

/**
 * Keeps the tenants a node serves in line with the shared database: another node's new tenant gets its
 * folders and stores here too, a deleted one is let go. Told by the bus at once, and checked periodically
 * in case a message was missed (or there is no Redis).
 */
export class TenantFollower {
  private served = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: TenantFollowerOptions) {}

  start(servedNow: readonly number[]): void {
    this.served = new Set(servedNow);
    this.options.bus.onMessage((message) => {
      if (message.kind === 'tenants') void this.follow();
    });
    this.timer = setInterval(() => void this.follow(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Reads the tenant list and applies the difference; one run at a time, a request meanwhile runs once after. */
  follow(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.followOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async followOnce(): Promise<void> {
    if (this.stopped) return;
    let ids: number[];
    try {
      ids = await this.options.list();
    } catch (error) {
      this.options.logger.debug({ reason: String(error) }, 'cannot read the tenant list now');
      return;
    }
    const current = new Set(ids);
    for (const id of current) {
      if (this.served.has(id) || this.stopped) continue;
      this.served.add(id);
      await this.apply('added', id);
    }
    for (const id of [...this.served]) {
      if (current.has(id) || this.stopped) continue;
      this.served.delete(id);
      await this.apply('removed', id);
    }
  }

  private async apply(change: 'added' | 'removed', tenantId: number): Promise<void> {
    try {
      await this.options[change](tenantId);
    } catch (error) {
      this.options.logger.error(
        { tenantId, change, reason: String(error) },
        'following a tenant change failed',
      );
    }
  }
}
