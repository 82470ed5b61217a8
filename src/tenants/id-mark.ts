import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { SUPER_TENANT_ID } from '../home/layout.js';

/**
 * The high-water mark of issued tenant ids. A tenant's id is what its rows in other databases are keyed by
 * (a JDBC store's users, a registry mount's resources) and what its folder and cache entries are named
 * after; none of those go when the tenant goes, so an id handed out again would give the new tenant the
 * deleted one's users. `max(tenants.id) + 1` forgets the newest tenant once it is deleted: the mark
 * remembers it.
 *
 * Release 2.0.1 cannot add a table or a column, so the mark lives in what 2.0.0 has. It is one row of the
 * super tenant's registry, like the shared user store definitions (userstores/caching/shared-definitions.ts), rather
 * than in the audit log, because the audit log is history, not state: it is written after the change and
 * outside its transaction, a failed write is only logged, the smoke test deletes its own rows, and an
 * operator may prune it. The registry row is updated in the tenant insert's own transaction, travels with
 * the database (export, import, the staged upgrade's copy) and cannot go with a tenant (its tenant is the
 * super tenant, which cannot be deleted). Its path does not start with `/`, so the registry API, which
 * normalises every path to an absolute one, can neither name nor list it, and no mount can take it over;
 * this module reads it from the server database only.
 *
 * The mark is the row's `version`: an integer the unique index (tenant_id, path, version) covers and an
 * UPDATE can compare and set, so two nodes that read the same mark cannot both move it on (the second
 * UPDATE finds no row with the value it read and its transaction is retried).
 */
export const TENANT_ID_MARK_PATH = 'tessera:tenant-ids';
const MEDIA_TYPE = 'text/plain';
const WRITER = 'tessera:tenants';
const CONTENT = Buffer.from("The highest tenant id ever issued is this resource's version.\n", 'utf8');

/** Another node moved the mark on between this transaction's read and its write: try again. */
export class TenantIdRaceError extends Error {
  constructor() {
    super('Another node issued a tenant id at the same moment.');
  }
}

/** The mark, or undefined on a database no tenant was created on since 2.0.1 (it is made lazily). */
export async function readTenantIdMark(db: Kysely<Schema>): Promise<number | undefined> {
  const row = await db
    .selectFrom('registry_resources')
    .select((eb) => eb.fn.max('version').as('mark'))
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('path', '=', TENANT_ID_MARK_PATH)
    .executeTakeFirst();
  return row?.mark === null || row?.mark === undefined ? undefined : Number(row.mark);
}

/**
 * The next tenant id, recorded as issued; call it in the transaction that inserts the tenant, so that the
 * mark and the tenant are written together or not at all. Throws `TenantIdRaceError` (or the engine's
 * unique-key error) when another transaction issued an id meanwhile.
 */
export async function issueTenantId(trx: Kysely<Schema>): Promise<number> {
  const mark = await readTenantIdMark(trx);
  // Also past every id still named elsewhere: a database from before the mark (whose deleted tenants'
  // ids only their audit rows remember), or tenants written by something other than this service.
  const id = Math.max(0, mark ?? 0, await largestTenantIdNamed(trx)) + 1;
  if (mark === undefined) {
    // Two nodes making the mark at once insert the same (tenant, path, version): the unique index refuses one.
    await trx
      .insertInto('registry_resources')
      .values({
        tenant_id: SUPER_TENANT_ID,
        path: TENANT_ID_MARK_PATH,
        version: id,
        media_type: MEDIA_TYPE,
        content: CONTENT,
        created_by: WRITER,
        created_at: Date.now(),
      })
      .execute();
    return id;
  }
  const updated = await trx
    .updateTable('registry_resources')
    .set({ version: id })
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('path', '=', TENANT_ID_MARK_PATH)
    .where('version', '=', mark)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) throw new TenantIdRaceError();
  return id;
}

/**
 * Puts the mark back to what `readTenantIdMark` read earlier (undefined: no mark), for the upgrade's smoke
 * test, which leaves staging exactly as it found it. The smoke tenants' ids may then be issued again; they
 * name nothing by then (their rows, folders, audit rows and store databases are removed and verified gone).
 */
export async function restoreTenantIdMark(db: Kysely<Schema>, mark: number | undefined): Promise<void> {
  if ((await readTenantIdMark(db)) === mark) return;
  if (mark === undefined) {
    await db
      .deleteFrom('registry_resources')
      .where('tenant_id', '=', SUPER_TENANT_ID)
      .where('path', '=', TENANT_ID_MARK_PATH)
      .execute();
    return;
  }
  await db
    .updateTable('registry_resources')
    .set({ version: mark })
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('path', '=', TENANT_ID_MARK_PATH)
    .execute();
}

/** The largest tenant id the server database still names: its tenants and its audit log (no foreign key). */
async function largestTenantIdNamed(db: Kysely<Schema>): Promise<number> {
  const tenants = await db
    .selectFrom('tenants')
    .select((eb) => eb.fn.max('id').as('largest'))
    .executeTakeFirst();
  // The index (tenant_id, created_at) answers this without reading the log.
  const audit = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.max('tenant_id').as('largest'))
    .executeTakeFirst();
  return Math.max(Number(tenants?.largest ?? 0), Number(audit?.largest ?? 0));
}
