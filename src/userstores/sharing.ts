import type { StoreDefinition } from './definitions/store-file.js';
import type { UserStore } from './types.js';

/** What the user store manager asks of the cluster: the cache around each store, and shared definitions. */
export interface UserStoreSharing {
  /** The store as callers get it. */
  decorate(tenantId: number, store: UserStore): UserStore;
  /**
   * Before a tenant's folder is read: brings it in line with the shared definitions. Never throws.
   * Resolves with the domains whose hand-made change waits (maintenance mode): left as they are loaded.
   */
  reconcile(tenantId: number, folder: string): Promise<ReadonlySet<string>>;
  /** A store created through the API, recorded for every node; CONFLICT when one already has it. */
  created(tenantId: number, definition: StoreDefinition): Promise<void>;
  /** A store removed through the API. */
  removed(tenantId: number, domain: string): Promise<void>;
}
