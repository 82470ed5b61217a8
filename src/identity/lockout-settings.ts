import type { Logger } from 'pino';
import { SUPER_TENANT_ID } from '../home/layout.js';
import type { TenantSettings } from '../tenants/settings.js';
import {
  DEFAULT_LOCKOUT,
  LOCKOUT_SETTING,
  type LockoutPolicy,
  parseLockoutSetting,
} from './lockout-policy.js';

/** A tenant's lockout policy and where it comes from. */
export interface EffectiveLockout {
  policy: LockoutPolicy;
  /** `tenant`: its own setting; `server`: the super tenant's; `default`: the built-in one. */
  source: 'tenant' | 'server' | 'default';
}

/**
 * The `lockout` setting of each tenant (README, Login lockout): a tenant's own account rule, else the
 * super tenant's, else the built-in defaults; the address rule is always the super tenant's. Read from
 * the database at every login (one indexed query), so a change holds on every node at once.
 */
export class LockoutSettings {
  constructor(
    private readonly settings: TenantSettings,
    private readonly logger: Logger,
  ) {}

  /** The policy for a login in this tenant; `undefined`: a tenant that does not exist (the server's). */
  async effective(tenantId: number | undefined): Promise<EffectiveLockout> {
    const ids =
      tenantId === undefined || tenantId === SUPER_TENANT_ID
        ? [SUPER_TENANT_ID]
        : [tenantId, SUPER_TENANT_ID];
    const values = await this.settings.readEach(ids, LOCKOUT_SETTING);
    const server = this.parsed(SUPER_TENANT_ID, values.get(SUPER_TENANT_ID), DEFAULT_LOCKOUT);
    if (tenantId === undefined || tenantId === SUPER_TENANT_ID)
      return { policy: server ?? DEFAULT_LOCKOUT, source: server ? 'server' : 'default' };
    const serverPolicy = server ?? DEFAULT_LOCKOUT;
    const own = this.parsed(tenantId, values.get(tenantId), serverPolicy);
    if (own) return { policy: { account: own.account, address: serverPolicy.address }, source: 'tenant' };
    return { policy: serverPolicy, source: server ? 'server' : 'default' };
  }

  /**
   * Checks and stores a tenant's setting (missing fields from the policy it would otherwise have);
   * BAD_REQUEST naming the rule when it is refused. Returns the policy now in force.
   */
  async write(tenantId: number, value: unknown, by: string): Promise<LockoutPolicy> {
    const isServer = tenantId === SUPER_TENANT_ID;
    const base = isServer ? DEFAULT_LOCKOUT : (await this.effective(undefined)).policy;
    const policy = parseLockoutSetting(value, base, isServer);
    await this.settings.write(tenantId, LOCKOUT_SETTING, isServer ? policy : { account: policy.account }, by);
    return isServer ? policy : { account: policy.account, address: base.address };
  }

  /** A stored value, checked again: one edited by hand into something refused falls back, loudly. */
  private parsed(tenantId: number, value: unknown, base: LockoutPolicy): LockoutPolicy | undefined {
    if (value === undefined) return undefined;
    try {
      return parseLockoutSetting(value, base, tenantId === SUPER_TENANT_ID);
    } catch (error) {
      this.logger.warn({ err: error, tenantId }, 'stored lockout setting refused; the inherited one applies');
      return undefined;
    }
  }
}
