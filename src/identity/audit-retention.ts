import type { Logger } from 'pino';
import { TesseraError } from '../errors.js';
import { SUPER_TENANT_ID } from '../home/layout.js';
import type { TenantSettings } from '../tenants/settings.js';

/** The name of the setting in `tenant_settings` (README, Audit trail). */
export const AUDIT_RETENTION_SETTING = 'audit_retention';

/** A hundred years: a bound for the arithmetic, not a retention anyone needs. */
export const MAX_RETENTION_DAYS = 36_500;

/** How long a tenant's audit entries are kept: days, or null for ever. */
export interface EffectiveRetention {
  days: number | null;
  /** `tenant`: its own setting; `server`: the super tenant's; `default`: none set (kept for ever). */
  source: 'tenant' | 'server' | 'default';
}

/** Which entries a run deletes: the tenants named, or every tenant but those, older than `days`. */
export type RetentionScope =
  | { days: number; tenantIds: number[] }
  | { days: number; allTenantsExcept: number[] };

/** `{days}` from a client or the database: an integer of days, or null (keep for ever). */
export function parseRetention(value: unknown): number | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TesseraError('BAD_REQUEST', 'An audit retention is a JSON object {days}.');
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => key !== 'days');
  if (unknown.length > 0)
    throw new TesseraError('BAD_REQUEST', `Unknown audit retention field ${unknown.join(', ')}.`, {
      hint: 'The one field is days: whole days, or null to keep entries for ever.',
    });
  const { days } = fields;
  if (days === null) return null;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)
    throw new TesseraError(
      'BAD_REQUEST',
      `Audit retention days must be an integer from 1 to ${MAX_RETENTION_DAYS}, or null (keep for ever).`,
    );
  return days;
}

/**
 * The `audit_retention` setting of each tenant (README, Audit trail): its own, else the super tenant's (the
 * server's default), else none, and an audit trail nobody chose to shorten is kept for ever.
 */
export class AuditRetention {
  constructor(
    private readonly settings: TenantSettings,
    private readonly logger: Logger,
  ) {}

  async effective(tenantId: number): Promise<EffectiveRetention> {
    const values = await this.settings.readEach([tenantId, SUPER_TENANT_ID], AUDIT_RETENTION_SETTING);
    const own = this.parsed(tenantId, values.get(tenantId));
    if (own !== undefined) return { days: own, source: tenantId === SUPER_TENANT_ID ? 'server' : 'tenant' };
    const server = this.parsed(SUPER_TENANT_ID, values.get(SUPER_TENANT_ID));
    if (server !== undefined) return { days: server, source: 'server' };
    return { days: null, source: 'default' };
  }

  async write(tenantId: number, value: unknown, by: string): Promise<void> {
    const days = parseRetention(value);
    await this.settings.write(tenantId, AUDIT_RETENTION_SETTING, { days }, by);
  }

  async remove(tenantId: number): Promise<void> {
    await this.settings.remove(tenantId, AUDIT_RETENTION_SETTING);
  }

  /** What a run deletes: one scope per tenant with its own days, one for all the others by the server's. */
  async scopes(): Promise<RetentionScope[]> {
    const values = await this.settings.readAll(AUDIT_RETENTION_SETTING);
    const scopes: RetentionScope[] = [];
    const ownSetting: number[] = [];
    for (const [tenantId, value] of values) {
      if (tenantId === SUPER_TENANT_ID) continue;
      const days = this.parsed(tenantId, value);
      if (days === undefined) continue;
      ownSetting.push(tenantId);
      if (days !== null) scopes.push({ days, tenantIds: [tenantId] });
    }
    const server = this.parsed(SUPER_TENANT_ID, values.get(SUPER_TENANT_ID));
    // Tenants deleted since keep their rows in audit_log: the server's retention reaches them too.
    if (server != null) scopes.push({ days: server, allTenantsExcept: ownSetting });
    return scopes;
  }

  /** A stored value checked again: one edited by hand into something refused is ignored, loudly. */
  private parsed(tenantId: number, value: unknown): number | null | undefined {
    if (value === undefined) return undefined;
    try {
      return parseRetention(value);
    } catch (error) {
      this.logger.warn({ err: error, tenantId }, 'stored audit retention refused; entries are kept');
      return undefined;
    }
  }
}
