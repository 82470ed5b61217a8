import { TesseraError } from '../errors.js';
import { SUPER_TENANT_ID } from '../home/layout.js';
import { ADMIN_ROLE, type TenantService } from '../tenants/service.js';
import type { UserStoreManager } from '../userstores/manager.js';
import { displayName, PRIMARY_DOMAIN, parseQualifiedName } from '../userstores/names.js';
import { prepareDummyHash, verifyAgainstDummy } from '../userstores/passwords.js';

/** Who is calling, once their credentials checked out. */
export interface Principal {
  tenantId: number;
  tenantDomain: string;
  store: string;
  username: string;
  /** `[STORE/]name@tenant` as the caller would type it. */
  qualifiedName: string;
  roles: string[];
  /** Holds the PRIMARY store's `admin` role of its tenant. */
  isTenantAdmin: boolean;
  /** A tenant admin of the super tenant: manages every tenant. */
  isSuperAdmin: boolean;
}

/**
 * Checks `[STORE/]name[@tenant]` and a password against the tenant's stores. Every failure (malformed
 * name, unknown tenant, inactive tenant, unknown or unloaded store, unknown user, wrong password) is the
 * same `undefined`, and costs the same time: where there is no hash to check, the password is verified
 * against a dummy argon2id hash, so that how long a refusal takes does not tell which part was wrong.
 */
export class Authenticator {
  constructor(
    private readonly tenants: TenantService,
    private readonly stores: UserStoreManager,
  ) {
    // The first refusal must not be the one that pays for making the dummy hash.
    prepareDummyHash().catch(() => {});
  }

  async authenticate(rawName: string, password: string): Promise<Principal | undefined> {
    let name: ReturnType<typeof parseQualifiedName>;
    try {
      name = parseQualifiedName(rawName);
    } catch {
      return refuse(password);
    }
    return this.authenticateIn(name.tenantDomain, name.store, name.name, password);
  }

  /** For a name typed inside a known tenant (a webapp's login): `[STORE/]name`. */
  async authenticateInTenant(
    tenantDomain: string,
    rawName: string,
    password: string,
  ): Promise<Principal | undefined> {
    let name: ReturnType<typeof parseQualifiedName>;
    try {
      name = parseQualifiedName(rawName, tenantDomain);
    } catch {
      return refuse(password);
    }
    if (name.tenantDomain !== tenantDomain) return refuse(password);
    return this.authenticateIn(tenantDomain, name.store, name.name, password);
  }

  private async authenticateIn(
    tenantDomain: string,
    storeDomain: string,
    username: string,
    password: string,
  ) {
    const tenant = await this.tenants.get(tenantDomain);
    if (!tenant?.active) return refuse(password);
    const store = this.stores.store(tenant.id, storeDomain);
    if (!store) return refuse(password);
    // The store spends argon2's time itself on an unknown user or a wrong password.
    const user = await store.authenticate(username, password);
    if (!user) return undefined;
    const roles = user.roles.map((role) => displayName(storeDomain, role));
    const isTenantAdmin = storeDomain === PRIMARY_DOMAIN && user.roles.includes(ADMIN_ROLE);
    return {
      tenantId: tenant.id,
      tenantDomain: tenant.domain,
      store: storeDomain,
      username: user.username,
      qualifiedName: `${displayName(storeDomain, user.username)}@${tenant.domain}`,
      roles,
      isTenantAdmin,
      isSuperAdmin: isTenantAdmin && tenant.id === SUPER_TENANT_ID,
    };
  }
}

/** A refusal with no hash to check, made to take as long as a wrong password does. */
async function refuse(password: string): Promise<undefined> {
  await verifyAgainstDummy(password);
  return undefined;
}

/**
 * The admin API's tenant scope: the super admin reaches every tenant, a tenant admin only its own, and
 * another tenant's resources do not exist for them (404, not 403, so names do not leak).
 */
export function assertCanManage(principal: Principal, tenantDomain: string): void {
  if (principal.isSuperAdmin) return;
  if (principal.tenantDomain !== tenantDomain)
    throw new TesseraError('NOT_FOUND', `No tenant ${tenantDomain}.`);
  if (!principal.isTenantAdmin) throw new TesseraError('FORBIDDEN', 'Only a tenant admin may do this.');
}

export function assertSuperAdmin(principal: Principal): void {
  if (!principal.isSuperAdmin)
    throw new TesseraError('FORBIDDEN', 'Only the super tenant admin may do this.');
}
