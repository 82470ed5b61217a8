import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Schema } from '../db/schema.js';
import type { Principal } from './authenticator.js';

/** Records who changed what in the `audit_log` table; a failed write is logged, never fails the change. */
export class AuditLog {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly logger: Logger,
  ) {}

  async record(
    tenantId: number,
    actor: Principal | string,
    action: string,
    target: string,
    detail?: unknown,
  ): Promise<void> {
    try {
      await this.db
        .insertInto('audit_log')
        .values({
          tenant_id: tenantId,
          actor: typeof actor === 'string' ? actor : actor.qualifiedName,
          action,
          target,
          detail: detail === undefined ? null : JSON.stringify(detail),
          created_at: Date.now(),
        })
        .execute();
    } catch (error) {
      this.logger.error({ err: error, action, target }, 'audit log write failed');
    }
  }
}
