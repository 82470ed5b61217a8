import type { FastifyRequest } from 'fastify';
import { TesseraError } from '../../errors.js';
import { assertCanManage, type Principal } from '../../identity/authenticator.js';
import type { Tenant } from '../../tenants/service.js';
import { displayName, parseStoreName } from '../../userstores/names.js';
import type { StoreUser, UserStore } from '../../userstores/types.js';
import type { ServerContext } from '../context.js';
import { principalOf } from '../plugins/authentication.js';

/** The tenant a `/tenants/{domain}/...` request acts on, once the caller may manage it. */
export async function managedTenant(
  context: ServerContext,
  request: FastifyRequest,
  domain: string,
): Promise<{ tenant: Tenant; principal: Principal }> {
  const principal = principalOf(request);
  assertCanManage(principal, domain);
  return { tenant: await context.tenants.require(domain), principal };
}

/** The store a `[STORE/]name` belongs to in that tenant, and the name inside it. */
export function storeFor(
  context: ServerContext,
  tenant: Tenant,
  rawName: string,
): { store: UserStore; name: string } {
  const { store: domain, name } = parseStoreName(rawName, tenant.domain);
  return { store: requireStore(context, tenant, domain), name };
}

/** The stores a listing reads: the one named by `?store=`, else all of the tenant's, PRIMARY first. */
export function listedStores(context: ServerContext, tenant: Tenant, only: string | undefined): UserStore[] {
  return only ? [requireStore(context, tenant, only)] : context.stores.stores(tenant.id);
}

export function requireStore(context: ServerContext, tenant: Tenant, domain: string): UserStore {
  const store = context.stores.store(tenant.id, domain.toUpperCase());
  if (!store) {
    const known = context.stores.describe(tenant.id).find((s) => s.domain === domain.toUpperCase());
    if (known?.status === 'error') {
      throw new TesseraError(
        'STORE_UNAVAILABLE',
        `User store ${known.domain} is unavailable: ${known.error ?? 'unknown error'}.`,
      );
    }
    throw new TesseraError('BAD_REQUEST', `Tenant ${tenant.domain} has no user store ${domain}.`);
  }
  return store;
}

export function userView(store: UserStore, user: StoreUser) {
  return {
    username: displayName(store.domain, user.username),
    store: store.domain,
    roles: user.roles.map((role) => displayName(store.domain, role)),
    attributes: user.attributes,
    system: user.system,
  };
}
