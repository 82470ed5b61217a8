import { type Kysely, sql } from 'kysely';
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

  /** A tenant's entries, newest first, as `AuditQuery` filters them; at most `limit`. */
  async list(tenantId: number, query: AuditQuery): Promise<AuditEntry[]> {
    let select = this.db
      .selectFrom('audit_log')
      .select(['id', 'actor', 'action', 'target', 'detail', 'created_at'])
      .where('tenant_id', '=', tenantId);
    if (query.actionPrefix)
      // substr rather than LIKE: no escaping of `_` and `%`, whose escape character differs by engine.
      select = select.where(
        sql<string>`substr(${sql.ref('action')}, 1, ${query.actionPrefix.length})`,
        '=',
        query.actionPrefix,
      );
    if (query.actor !== undefined) select = select.where('actor', '=', query.actor);
    if (query.since !== undefined) select = select.where('created_at', '>=', query.since);
    if (query.until !== undefined) select = select.where('created_at', '<', query.until);
    if (query.before !== undefined) select = select.where('id', '<', query.before);
    const rows = await select.orderBy('id', 'desc').limit(query.limit).execute();
    return rows.map((row) => ({
      id: row.id,
      at: row.created_at,
      actor: row.actor,
      action: row.action,
      target: row.target,
      detail: row.detail === null ? null : (JSON.parse(row.detail) as unknown),
    }));
  }
}

/**
 * Deletes a batch of at most `batch` entries of `scope` older than `before` (epoch ms); how many went.
 * Ids are read first and deleted by id, since PostgreSQL has no DELETE ... LIMIT: two nodes running this
 * at once delete the same rows, and the second's delete simply finds fewer.
 */
export async function deleteAuditBatch(
  db: Kysely<Schema>,
  scope: { tenantIds: number[] } | { allTenantsExcept: number[] },
  before: number,
  batch: number,
): Promise<number> {
  let select = db.selectFrom('audit_log').select('id').where('created_at', '<', before);
  if ('tenantIds' in scope) select = select.where('tenant_id', 'in', scope.tenantIds);
  else if (scope.allTenantsExcept.length > 0)
    select = select.where('tenant_id', 'not in', scope.allTenantsExcept);
  const ids = (await select.orderBy('id').limit(batch).execute()).map((row) => row.id);
  if (ids.length === 0) return 0;
  const result = await db.deleteFrom('audit_log').where('id', 'in', ids).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Filters of `AuditLog.list`: times in epoch ms, `before` an entry id (the cursor of the next page). */
export interface AuditQuery {
  actionPrefix?: string;
  actor?: string;
  since?: number;
  until?: number;
  before?: number;
  limit: number;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
}
