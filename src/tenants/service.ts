import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Schema, TenantsTable } from '../db/schema.js';
import { TesseraError } from '../errors.js';
import { SUPER_TENANT_DOMAIN, SUPER_TENANT_ID } from '../home/layout.js';
import { ACCOUNT_NAME_RULE, isAccountName, PRIMARY_DOMAIN } from '../userstores/names.js';
import { hashPassword } from '../userstores/passwords.js';
import { validateTenantDomain } from './domain.js';
import { issueTenantId } from './id-mark.js';

export interface Tenant {
  id: number;
  domain: string;
  adminUsername: string;
  active: boolean;
  createdAt: string;
}

export interface NewTenant {
  domain: string;
  adminPassword: string;
  adminUsername?: string;
}

/** What else must happen when a tenant comes or goes (folders, stores, deployer), told by the server. */
export interface TenantHooks {
  created(tenantId: number): Promise<void>;
  deleted(tenantId: number): Promise<void>;
  /** Deactivated or reactivated: what serves its apps must learn it. */
  activeChanged?(tenantId: number): Promise<void>;
}

export const ADMIN_ROLE = 'admin';
const MIN_PASSWORD_LENGTH = 8;
/** Tries at creating a tenant when other nodes issue ids at the same moment (each try loses to one winner). */
const CREATE_ATTEMPTS = 5;
const RETRY_JITTER_MS = 20;

function toTenant(row: TenantsTable): Tenant {
  return {
    id: row.id,
    domain: row.domain,
    adminUsername: row.admin_username,
    active: row.active === 1,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export function validatePassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new TesseraError('BAD_REQUEST', `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
}

/**
 * The tenant admin is a PRIMARY user, so its name follows the rule of every user added through the API:
 * a name with a store prefix or an `@` could never log in (it would be read as another store or tenant)
 * nor be named to be deleted.
 */
export function validateAdminUsername(name: string): string {
  if (typeof name !== 'string' || !isAccountName(name)) {
    throw new TesseraError(
      'BAD_REQUEST',
      `"${String(name)}" is not a valid admin user name: ${ACCOUNT_NAME_RULE}, at most 255 characters (no store prefix, no @tenant).`,
    );
  }
  return name;
}

export class TenantService {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly hooks: TenantHooks,
  ) {}

  async list(): Promise<Tenant[]> {
    const rows = await this.db.selectFrom('tenants').selectAll().orderBy('id').execute();
    return rows.map(toTenant);
  }

  async get(domain: string): Promise<Tenant | undefined> {
    const row = await this.db
      .selectFrom('tenants')
      .selectAll()
      .where('domain', '=', domain)
      .executeTakeFirst();
    return row && toTenant(row);
  }

  async getById(id: number): Promise<Tenant | undefined> {
    const row = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toTenant(row);
  }

  async require(domain: string): Promise<Tenant> {
    const tenant = await this.get(domain);
    if (!tenant) throw new TesseraError('NOT_FOUND', `No tenant ${domain}.`);
    return tenant;
  }

  /**
   * Creates the tenant, its PRIMARY store domain, its system `admin` role and admin user in one
   * transaction, then its folders: a failure leaves no half-made tenant behind.
   */
  async create(input: NewTenant): Promise<Tenant> {
    const domain = validateTenantDomain(input.domain);
    validatePassword(input.adminPassword);
    const adminUsername = validateAdminUsername(input.adminUsername ?? 'admin');
    if (await this.get(domain)) throw new TesseraError('CONFLICT', `Tenant ${domain} already exists.`);
    const password = await hashPassword(input.adminPassword);
    const now = Date.now();
    let id = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        id = await this.db.transaction().execute(async (trx) => {
          // Never an id a deleted tenant had (see id-mark.ts): its users may still be in a store's database.
          const tenantId = await issueTenantId(trx);
          await trx
            .insertInto('tenants')
            .values({ id: tenantId, domain, admin_username: adminUsername, active: 1, created_at: now })
            .execute();
          await insertTenantPrincipals(trx, tenantId, adminUsername, password, now);
          return tenantId;
        });
        break;
      } catch (error) {
        // Another node may have taken the same id or domain at the same moment.
        if (await this.get(domain)) throw new TesseraError('CONFLICT', `Tenant ${domain} already exists.`);
        if (attempt >= CREATE_ATTEMPTS - 1) throw error;
        // Nodes that collided once would collide again if they retried in step.
        await delay(Math.random() * RETRY_JITTER_MS * (attempt + 1));
      }
    }
    await this.hooks.created(id);
    return (await this.getById(id)) as Tenant;
  }

  async setActive(domain: string, active: boolean): Promise<Tenant> {
    const tenant = await this.require(domain);
    if (tenant.id === SUPER_TENANT_ID)
      throw new TesseraError('FORBIDDEN', 'The super tenant is always active.');
    await this.db
      .updateTable('tenants')
      .set({ active: active ? 1 : 0 })
      .where('id', '=', tenant.id)
      .execute();
    await this.hooks.activeChanged?.(tenant.id);
    return { ...tenant, active };
  }

  async delete(domain: string): Promise<void> {
    const tenant = await this.require(domain);
    if (tenant.id === SUPER_TENANT_ID)
      throw new TesseraError('FORBIDDEN', 'The super tenant cannot be deleted.');
    await this.db.deleteFrom('tenants').where('id', '=', tenant.id).execute();
    await this.hooks.deleted(tenant.id);
  }
}

/** The rows every tenant starts with; shared by tenant creation and the first start's super tenant. */
export async function insertTenantPrincipals(
  trx: Kysely<Schema>,
  tenantId: number,
  adminUsername: string,
  password: { hash: string; salt: string; algorithm: string },
  now: number,
): Promise<void> {
  await trx.insertInto('store_domains').values({ tenant_id: tenantId, name: PRIMARY_DOMAIN }).execute();
  await trx
    .insertInto('roles')
    .values({ tenant_id: tenantId, name: ADMIN_ROLE, is_system: 1, created_at: now })
    .execute();
  await trx
    .insertInto('users')
    .values({
      tenant_id: tenantId,
      username: adminUsername,
      password_hash: password.hash,
      password_salt: password.salt,
      password_algorithm: password.algorithm,
      is_system: 1,
      created_at: now,
      password_changed_at: now,
    })
    .execute();
  const user = await trx
    .selectFrom('users')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('username', '=', adminUsername)
    .executeTakeFirstOrThrow();
  const role = await trx
    .selectFrom('roles')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('name', '=', ADMIN_ROLE)
    .executeTakeFirstOrThrow();
  await trx.insertInto('user_roles').values({ user_id: user.id, role_id: role.id }).execute();
}

export async function createSuperTenant(
  db: Kysely<Schema>,
  adminPassword: string,
  now = Date.now(),
): Promise<void> {
  const password = await hashPassword(adminPassword);
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('tenants')
      .values({
        id: SUPER_TENANT_ID,
        domain: SUPER_TENANT_DOMAIN,
        admin_username: 'admin',
        active: 1,
        created_at: now,
      })
      .execute();
    await insertTenantPrincipals(trx, SUPER_TENANT_ID, 'admin', password, now);
  });
}
