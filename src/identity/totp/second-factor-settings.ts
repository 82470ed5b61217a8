import type { TenantSettings } from '../../tenants/settings.js';

/** The tenant setting's name in `tenant_settings`. */
export const SECOND_FACTOR_SETTING = 'second_factor';

/** A tenant's second-factor policy (README, Two-factor sign-in). */
export interface SecondFactorPolicy {
  /** Admins without an authenticator may sign in to the console only to enrol one, and not over Basic. */
  requiredForAdmins: boolean;
}

export const DEFAULT_SECOND_FACTOR_POLICY: SecondFactorPolicy = { requiredForAdmins: false };

/**
 * The `second_factor` setting of each tenant, its own only (the super tenant's binds the super tenant's
 * admins, not other tenants'). Read at the login of an admin without an authenticator, from the database, so
 * a change holds on every node at once.
 */
export class SecondFactorSettings {
  constructor(private readonly settings: TenantSettings) {}

  async policy(tenantId: number): Promise<SecondFactorPolicy> {
    const value = await this.settings.read(tenantId, SECOND_FACTOR_SETTING);
    const required = (value as Partial<SecondFactorPolicy> | undefined)?.requiredForAdmins;
    return { requiredForAdmins: required === true };
  }

  async write(tenantId: number, policy: SecondFactorPolicy, by: string): Promise<void> {
    await this.settings.write(tenantId, SECOND_FACTOR_SETTING, policy, by);
  }
}
