import type { Static } from 'typebox';
import type { Tenant } from '../../tenants/service.js';
import { MAX_PAGE_SIZE } from '../../userstores/page.js';
import type { Page, UserStore } from '../../userstores/types.js';
import type { ServerContext } from '../context.js';
import type { PageQuery } from './schemas.js';
import { listedStores } from './scope.js';

/**
 * One page of a tenant's users or roles as a listing's query asks for it: from the store `?store=` names,
 * else from all the tenant's stores, PRIMARY first; only names starting with `?prefix=`.
 */
export function pageOfTenantStores<T>(
  context: ServerContext,
  tenant: Tenant,
  query: Static<typeof PageQuery>,
  read: (store: UserStore, page: Page) => Promise<T[]>,
): Promise<{ store: UserStore; item: T }[]> {
  const { limit, offset, prefix, store: only } = query;
  return pageAcrossStores(
    listedStores(context, tenant, only),
    (store, page) => read(store, { ...page, prefix }),
    offset,
    limit,
  );
}

/**
 * One page taken from several stores read one after the other, each in its own name order: skips `offset`
 * entries over their concatenation and keeps up to `limit`, asking each store for pages it accepts.
 */
async function pageAcrossStores<T>(
  stores: readonly UserStore[],
  read: (store: UserStore, page: Page) => Promise<T[]>,
  offset: number,
  limit: number,
): Promise<{ store: UserStore; item: T }[]> {
  const kept: { store: UserStore; item: T }[] = [];
  let skip = offset;
  for (const store of stores) {
    for (let storeOffset = 0; kept.length < limit; ) {
      const page = await read(store, { limit: MAX_PAGE_SIZE, offset: storeOffset });
      storeOffset += page.length;
      const fresh = page.slice(Math.min(skip, page.length));
      skip -= page.length - fresh.length;
      for (const item of fresh.slice(0, limit - kept.length)) kept.push({ store, item });
      if (page.length < MAX_PAGE_SIZE) break;
    }
    if (kept.length >= limit) break;
  }
  return kept;
}
