import { type RawBuilder, sql } from 'kysely';
import type { Database } from '../db/connection.js';
import { listTables } from '../db/copy/tables.js';
import { TesseraError } from '../errors.js';
import { SUPER_TENANT_ID } from '../home/layout.js';
import { HISTORY_TABLE } from '../releases/history.js';
import { ADMIN_ROLE } from '../tenants/service.js';
import { PRIMARY_DOMAIN } from '../userstores/names.js';

/** The super tenant's admin, as a first start creates it (src/tenants/service.ts, createSuperTenant). */
const FIRST_ADMIN = 'admin';

/**
 * Rows a first start may have written, per table: anything matching the condition is not from a first
 * start. A first start makes the super tenant, its PRIMARY store domain, its `admin` role and user and the
 * link between them; a server that ran may also have left its node heartbeat. Every other table is empty.
 */
const NOT_FROM_FIRST_START: Record<string, RawBuilder<unknown> | 'any rows allowed'> = {
  [HISTORY_TABLE]: 'any rows allowed',
  cluster_nodes: 'any rows allowed',
  // At most one user and one role exist (below), so at most the one link between them.
  user_roles: 'any rows allowed',
  tenants: sql`id <> ${SUPER_TENANT_ID}`,
  store_domains: sql`tenant_id <> ${SUPER_TENANT_ID} or name <> ${PRIMARY_DOMAIN}`,
  roles: sql`tenant_id <> ${SUPER_TENANT_ID} or name <> ${ADMIN_ROLE}`,
  users: sql`tenant_id <> ${SUPER_TENANT_ID} or username <> ${FIRST_ADMIN}`,
};

/**
 * Refuses a database holding anything a first start does not create: an import replaces every row, so
 * it only goes where nothing would be lost.
 */
export async function assertOnlyFirstStartRows(database: Database<unknown>): Promise<void> {
  const problems: string[] = [];
  for (const table of await listTables(database)) {
    const rule = NOT_FROM_FIRST_START[table.name];
    if (rule === 'any rows allowed') continue;
    const where = rule ?? sql`1 = 1`;
    const result = await sql<{ n: number | string }>`
      select count(*) as n from ${sql.table(table.name)} where ${where}`.execute(database.db);
    const extra = Number(result.rows[0]?.n ?? 0);
    if (extra > 0) problems.push(`${table.name} (${extra} ${extra === 1 ? 'row' : 'rows'})`);
  }
  if (problems.length > 0) {
    throw new TesseraError(
      'BAD_USAGE',
      `Database ${database.label} holds more than a first start creates: ${problems.join(', ')}. An import replaces every row and would lose them.`,
      {
        hint: 'Import into a new home: tessera init --home NEW [--db URL] (or a home started once and stopped), then import.',
      },
    );
  }
}
