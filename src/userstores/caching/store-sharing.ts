import type { SharedCache } from '../../cache/shared-cache.js';
import type { UserStoreSharing } from '../sharing.js';
import type { UserStore } from '../types.js';
import { CachedUserStore } from './cached-store.js';
import type { SharedStoreDefinitions } from './shared-definitions.js';

/** Store kinds whose data only Tessera changes: anything else (a directory others edit) is not cached. */
const CACHED_KINDS: ReadonlySet<UserStore['kind']> = new Set(['primary', 'jdbc']);

/** The manager's view of the cluster: the cache around the stores it serves, and the shared definitions. */
export function storeSharing(cache: SharedCache, definitions: SharedStoreDefinitions): UserStoreSharing {
  // One wrapper per store, for as long as the store lives: callers compare stores by identity.
  const wrappers = new WeakMap<UserStore, UserStore>();
  return {
    decorate: (tenantId, store) => {
      if (!CACHED_KINDS.has(store.kind)) return store;
      let wrapper = wrappers.get(store);
      if (wrapper === undefined) {
        wrapper = new CachedUserStore(store, tenantId, cache);
        wrappers.set(store, wrapper);
      }
      return wrapper;
    },
    reconcile: (tenantId, folder) => definitions.reconcile(tenantId, folder),
    created: (tenantId, definition) => definitions.created(tenantId, definition),
    removed: (tenantId, domain) => definitions.removed(tenantId, domain),
  };
}
