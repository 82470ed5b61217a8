import { type SharedCache, storeScope, tenantScope } from '../../cache/shared-cache.js';
import type { NewUser, Page, StoreUser, UserStore } from '../types.js';

/** How long an entry may live: bounds how stale a node without Redis can be in a cluster. */
export const ENTRY_TTL_SECONDS = 30;

interface RoleEntry {
  name: string;
  users: string[];
  system: boolean;
}

/**
 * A user store whose lookups (user, role, role list) go through the shared cache, and whose every write
 * invalidates its tenant's entries on every node, whether it succeeded or not (a failed write may have done
 * part of its work). `authenticate` always asks the store: the password is checked there, and the roles it
 * answers with come from the same row.
 */
export class CachedUserStore implements UserStore {
  readonly domain: string;
  readonly kind: UserStore['kind'];
  readonly readOnly: boolean;
  private readonly scopes: readonly string[];

  constructor(
    private readonly inner: UserStore,
    tenantId: number,
    private readonly cache: SharedCache,
  ) {
    this.domain = inner.domain;
    this.kind = inner.kind;
    this.readOnly = inner.readOnly;
    this.scopes = [tenantScope(tenantId), storeScope(tenantId, inner.domain)];
  }

  authenticate(username: string, password: string): Promise<StoreUser | undefined> {
    return this.inner.authenticate(username, password);
  }

  getUser(username: string): Promise<StoreUser | undefined> {
    return this.cached(`user:${username}`, () => this.inner.getUser(username));
  }

  listUsers(page: Page): Promise<StoreUser[]> {
    // Pages of users are many and rarely read twice alike: not worth a cache entry each.
    return this.inner.listUsers(page);
  }

  listRoles(page: Page): Promise<string[]> {
    const key = `roles:${page.limit}:${page.offset}:${page.prefix ?? ''}`;
    return this.cached(key, () => this.inner.listRoles(page)) as Promise<string[]>;
  }

  getRole(name: string): Promise<RoleEntry | undefined> {
    return this.cached(`role:${name}`, () => this.inner.getRole(name));
  }

  addUser(user: NewUser): Promise<StoreUser> {
    return this.writing(() => this.inner.addUser(user));
  }

  deleteUser(username: string): Promise<boolean> {
    return this.writing(() => this.inner.deleteUser(username));
  }

  setPassword(username: string, password: string): Promise<boolean> {
    // No cached entry holds a password or hash; invalidated all the same, in case a store ever caches more.
    return this.writing(() => this.inner.setPassword(username, password));
  }

  setUserRoles(username: string, roles: readonly string[]): Promise<boolean> {
    return this.writing(() => this.inner.setUserRoles(username, roles));
  }

  addRole(name: string, users?: readonly string[]): Promise<void> {
    return this.writing(() => this.inner.addRole(name, users));
  }

  deleteRole(name: string): Promise<boolean> {
    return this.writing(() => this.inner.deleteRole(name));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The cached value, or the source's (then cached); "none" answers are cached too, as `null`. */
  private async cached<T>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const lookup = await this.cache.lookup(this.scopes, key);
    if (lookup?.value !== undefined) return (JSON.parse(lookup.value) as T | null) ?? undefined;
    const value = await load();
    await lookup?.fill(JSON.stringify(value ?? null), ENTRY_TTL_SECONDS);
    return value;
  }

  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      // The whole tenant, not only this store: two stores of a tenant may name one database, whose rows
      // (keyed by tenant, not by store) they then share. Writes are rare next to reads.
      await this.cache.invalidate(this.scopes.slice(0, 1));
    }
  }
}
