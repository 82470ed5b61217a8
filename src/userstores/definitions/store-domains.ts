import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';

/**
 * Records a secondary store's domain in the server database's `store_domains` unless it is there: the
 * server's own record of the store domains each tenant has used.
 */
export async function registerStoreDomain(db: Kysely<Schema>, tenantId: number, name: string): Promise<void> {
  if (await isRegistered(db, tenantId, name)) return;
  try {
    await db.insertInto('store_domains').values({ tenant_id: tenantId, name }).execute();
  } catch (error) {
    // Another node or request registered it meanwhile: the unique index refused the second row.
    if (!(await isRegistered(db, tenantId, name))) throw error;
  }
}

async function isRegistered(db: Kysely<Schema>, tenantId: number, name: string): Promise<boolean> {
  const row = await db
    .selectFrom('store_domains')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row !== undefined;
}
