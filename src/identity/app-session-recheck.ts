import type { UserStoreManager } from '../userstores/manager.js';
import { displayName } from '../userstores/names.js';
import type { UserRecheck } from './app-sessions.js';

/**
 * A session's user looked up again in their store (through the cache, which every write through the API
 * invalidates on every node): their roles as the app is told them, `undefined` for a user who is gone. A
 * store this node cannot reach now (down, not loaded yet) says nothing either way: the session stays and is
 * checked again at its next request, as signing in again would need that store anyway.
 */
export function recheckInStores(stores: UserStoreManager): UserRecheck {
  return async (tenantId, store, username) => {
    const userStore = stores.store(tenantId, store);
    if (!userStore) return 'unknown';
    try {
      const user = await userStore.getUser(username);
      return user ? user.roles.map((role) => displayName(store, role)) : undefined;
    } catch {
      return 'unknown';
    }
  };
}
