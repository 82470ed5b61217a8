import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type SharedCache, tenantScope } from '../cache/shared-cache.js';
import type { InvalidationBus } from '../cluster/bus.js';
import type { Schema } from '../db/schema.js';
import { ensureTenantFolders, type HomeLayout, tenantFolder } from '../home/layout.js';
import { TenantFollower, type TenantKey } from './follower.js';
import { TenantService } from './service.js';

/** How often a node reads the tenant list, in case it missed another node's message about a change. */
const TENANT_FOLLOW_MS = 5_000;

/** A part of the node that holds something per tenant: it starts serving a tenant, and lets one go. */
export interface TenantParticipant {
  start(tenantIds: number[]): Promise<void>;
  addTenant(tenantId: number): Promise<void>;
  removeTenant(tenantId: number): Promise<void>;
}

export interface TenantLifecycleOptions {
  db: Kysely<Schema>;
  layout: HomeLayout;
  logger: Logger;
  /** The user stores, then the webapps: served in this order, let go in the reverse one. */
  stores: TenantParticipant;
  deployer: TenantParticipant;
  cache: SharedCache;
  bus: InvalidationBus;
  /** The shared user store definitions, which keep per-tenant state of their own. */
  definitions: { forgetTenant(tenantId: number): void };
}

/**
 * What a node does when a tenant comes or goes, whichever node made the change: lays out its folders and
 * serves its stores and webapps, or lets them go and keeps its files under `backups/`. The tenant service
 * calls it on the node that made the change; the follower on every other node when it learns of it.
 */
export class TenantLifecycle {
  readonly tenants: TenantService;
  private follower: TenantFollower | undefined;

  constructor(private readonly options: TenantLifecycleOptions) {
    this.tenants = new TenantService(options.db, {
      created: async (tenantId) => {
        // Adopted before it is served: under an id a deleted tenant had, a follower run meanwhile must not
        // take it for that one and let it go.
        const created = await this.tenants.getById(tenantId);
        if (created) this.follower?.adopt(tenantKey(created));
        await this.serve(tenantId);
        await options.bus.publish({ kind: 'tenants' });
      },
      deleted: async (tenantId) => {
        // Forgotten first: the follower run the message below starts must not unload it a second time,
        // concurrently with a tenant created next under the same id.
        this.follower?.forget(tenantId);
        await this.unload(tenantId);
        await options.bus.publish({ kind: 'tenants' });
      },
      // Every node's app front forgets the tenants it looked up (http/app.ts): a deactivated tenant's apps
      // stop at once, not after the lookups' time to live.
      activeChanged: async () => {
        await options.bus.publish({ kind: 'tenants' });
      },
    });
  }

  /** Serves every tenant the database holds, then follows the changes other nodes make. */
  async start(): Promise<void> {
    const { layout, stores, deployer } = this.options;
    const served = await this.tenants.list();
    const tenantIds = served.map((t) => t.id);
    for (const id of tenantIds) ensureTenantFolders(layout, id);
    await stores.start(tenantIds);
    await deployer.start(tenantIds);
    this.follower = new TenantFollower({
      list: async () => (await this.tenants.list()).map(tenantKey),
      added: (tenantId) => this.serve(tenantId),
      removed: (tenantId) => this.unload(tenantId),
      bus: this.options.bus,
      logger: this.options.logger,
      intervalMs: TENANT_FOLLOW_MS,
    });
    this.follower.start(served.map(tenantKey));
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
  }

  /** Idempotent: the node that created the tenant has served it already when the follower gets to it. */
  private async serve(tenantId: number): Promise<void> {
    ensureTenantFolders(this.options.layout, tenantId);
    await this.options.stores.addTenant(tenantId);
    await this.options.deployer.addTenant(tenantId);
  }

  private async unload(tenantId: number): Promise<void> {
    const { layout, cache, stores, deployer, definitions } = this.options;
    // Ids are not given again (tenants/id-mark.ts) unless a database is put back from an older backup;
    // even then nothing cached for this tenant may be found by the next.
    await cache.invalidate([tenantScope(tenantId)]);
    await deployer.removeTenant(tenantId);
    await stores.removeTenant(tenantId);
    definitions.forgetTenant(tenantId);
    // Nothing is lost: the tenant's webapps and store files are kept under backups/.
    const folder = tenantFolder(layout, tenantId);
    if (existsSync(folder))
      renameSync(folder, path.join(layout.backups, `deleted-tenant-${tenantId}-${Date.now()}`));
  }
}

/** What tells one tenant from another created later under the same id. */
function tenantKey(tenant: { id: number; domain: string; createdAt: string }): TenantKey {
  return { id: tenant.id, domain: tenant.domain, createdAt: tenant.createdAt };
}
