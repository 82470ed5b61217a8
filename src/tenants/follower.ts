import type { Logger } from 'pino';
import type { InvalidationBus } from '../cluster/bus.js';

/**
 * A tenant as the follower tells it apart. Ids are not given again (tenants/id-mark.ts), but a database put
 * back from an older backup can hand a newer tenant's id to another one, so the id alone cannot tell
 * "still there" from "deleted and another created in its place".
 */
export interface TenantKey {
  id: number;
  domain: string;
  createdAt: string;
}

export interface TenantFollowerOptions {
  /**
   * The tenants the database holds now. Bare ids are still taken (then a reused id goes unnoticed);
   * give the keys.
   */
  list(): Promise<readonly (TenantKey | number)[]>;
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
  /** Tenant id -> the key it was served under (undefined: only the id is known, e.g. from start). */
  private served = new Map<number, string | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: TenantFollowerOptions) {}

  start(servedNow: readonly (TenantKey | number)[]): void {
    this.served = new Map(servedNow.map((t) => [idOf(t), keyOf(t)]));
    this.options.bus.onMessage((message) => {
      if (message.kind === 'tenants') void this.follow();
    });
    this.timer = setInterval(() => void this.follow(), this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * Records that this node serves `tenant` already (the node that created it calls this): otherwise, when
   * a tenant was deleted and another created under its id here before the follower ran, the follower
   * would take the new tenant for a changed one and let it go and serve it again.
   */
  adopt(tenant: TenantKey): void {
    this.served.set(tenant.id, keyOf(tenant));
  }

  /** Records that this node let `tenantId` go itself (the node that deleted it calls this). */
  forget(tenantId: number): void {
    this.served.delete(tenantId);
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
    let listed: readonly (TenantKey | number)[];
    try {
      listed = await this.options.list();
    } catch (error) {
      this.options.logger.debug({ reason: String(error) }, 'cannot read the tenant list now');
      return;
    }
    const current = new Map(listed.map((t) => [idOf(t), keyOf(t)]));
    // A served id whose key changed is another tenant now: the old one is let go, then the new one served.
    for (const [id, key] of current) {
      const servedKey = this.served.get(id);
      if (!this.served.has(id) || this.stopped) continue;
      if (servedKey === undefined || key === undefined) {
        // Nothing to compare with: the first key seen is adopted.
        this.served.set(id, servedKey ?? key);
      } else if (servedKey !== key) {
        this.served.delete(id);
        await this.apply('removed', id);
      }
    }
    for (const [id, key] of current) {
      if (this.served.has(id) || this.stopped) continue;
      this.served.set(id, key);
      await this.apply('added', id);
    }
    for (const id of [...this.served.keys()]) {
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

function idOf(tenant: TenantKey | number): number {
  return typeof tenant === 'number' ? tenant : tenant.id;
}

function keyOf(tenant: TenantKey | number): string | undefined {
  return typeof tenant === 'number' ? undefined : JSON.stringify([tenant.domain, tenant.createdAt]);
}
