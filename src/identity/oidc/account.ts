import type { UserStoreManager } from '../../userstores/manager.js';
import { displayName, parseStoreName } from '../../userstores/names.js';

/** The claims a tenant's users carry, by the scope that releases them (`openid` gives `sub` alone). */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  email: ['email'],
  profile: ['name', 'given_name', 'family_name'],
  roles: ['roles'],
} as const;

/** The user attributes that become claims of the same name, where the user has them. */
const ATTRIBUTE_CLAIMS = ['email', 'name', 'given_name', 'family_name'] as const;

export type AccountClaims = { sub: string; roles: string[] } & Partial<Record<string, string | string[]>>;

/**
 * A user's claims, read from its store when a token or userinfo asks (not from the login): a role given or
 * an attribute changed since shows at the next refresh. `sub` is the name inside the tenant, store prefix
 * included (`alice`, `SECONDARY/alice`), as the rest of Tessera names users; `undefined` once the user is gone,
 * which ends its refreshes.
 */
export async function accountClaims(
  stores: UserStoreManager,
  tenantId: number,
  tenantDomain: string,
  sub: string,
): Promise<AccountClaims | undefined> {
  let parsed: { store: string; name: string };
  try {
    parsed = parseStoreName(sub, tenantDomain);
  } catch {
    return undefined;
  }
  const store = stores.store(tenantId, parsed.store);
  const user = await store?.getUser(parsed.name);
  if (!user) return undefined;
  const claims: AccountClaims = { sub, roles: user.roles.map((role) => displayName(parsed.store, role)) };
  for (const claim of ATTRIBUTE_CLAIMS) {
    const value = user.attributes[claim];
    if (value !== undefined && value !== '') claims[claim] = value;
  }
  return claims;
}
