import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { writeRow } from '../db/write-row.js';

/**
 * A tenant's settings (release 2.1.0's `tenant_settings`): one JSON value per name, such as `lockout` or
 * `password_policy`. The super tenant's settings are the server's own and the defaults of tenants that set
 * none. This store only keeps values; each setting's reader checks its shape and fills in its defaults.
 */
export class TenantSettings {
  constructor(private readonly db: Kysely<Schema>) {}

  /** The setting's value as stored, or undefined when the tenant has not set it. */
  async read(tenantId: number, name: string): Promise<unknown> {
    const row = await this.db
      .selectFrom('tenant_settings')
      .select('value')
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : (JSON.parse(row.value) as unknown);
  }

  /** The setting's value for each of these tenants that has set it. */
  async readEach(tenantIds: readonly number[], name: string): Promise<Map<number, unknown>> {
    const rows = await this.db
      .selectFrom('tenant_settings')
      .select(['tenant_id', 'value'])
      .where('tenant_id', 'in', tenantIds)
      .where('name', '=', name)
      .execute();
    return new Map(rows.map((row) => [row.tenant_id, JSON.parse(row.value) as unknown]));
  }

  /** The setting's value for every tenant that has set it. */
  async readAll(name: string): Promise<Map<number, unknown>> {
    const rows = await this.db
      .selectFrom('tenant_settings')
      .select(['tenant_id', 'value'])
      .where('name', '=', name)
      .execute();
    return new Map(rows.map((row) => [row.tenant_id, JSON.parse(row.value) as unknown]));
  }

  /** Sets (or replaces) the setting. */
  async write(tenantId: number, name: string, value: unknown, by: string): Promise<void> {
    const text = JSON.stringify(value);
    const now = Date.now();
    await this.db
      .transaction()
      .execute((trx) =>
        writeRow(
          trx,
          'tenant_settings',
          { tenant_id: tenantId, name },
          { value: text, updated_by: by, updated_at: now },
        ),
      );
  }

  /** Back to the defaults: the setting is removed. */
  async remove(tenantId: number, name: string): Promise<void> {
    await this.db
      .deleteFrom('tenant_settings')
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .execute();
  }
}
