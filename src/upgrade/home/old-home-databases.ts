import { type DatabaseTarget, parseDatabaseUrl, redactDatabaseUrl, sameDatabase } from '../../db/url.js';
import { listTenantFolders } from '../steps/configure/copy-units.js';
import { findStoreDatabases } from '../steps/configure/store-database-files.js';
import type { UpgradeContext } from '../types.js';

/**
 * A secondary store database the old home keeps using until promote and the new home uses after it (a
 * database on a server, an absolute `sqlite:` path): the upgrade never copies it, so it must neither
 * write it before promote nor leave it out of the backup.
 */
export interface SharedStoreDatabase {
  /** The URL as the first store file using it writes it (password included: never journaled). */
  url: string;
  target: DatabaseTarget;
  /** The URL with any password masked. */
  label: string;
  /** The stores using it, `PARTNERS (repository/tenants/1)`-style. */
  usedBy: string[];
}

/** The old home's shared store databases, each once however many stores of however many tenants use it. */
export async function sharedStoreDatabases(context: UpgradeContext): Promise<SharedStoreDatabase[]> {
  const { oldLayout, newLayout } = context;
  const { tenants } = await listTenantFolders(oldLayout);
  const { shared } = await findStoreDatabases(oldLayout, newLayout, tenants);
  const databases: SharedStoreDatabase[] = [];
  for (const { store, url } of shared) {
    let target: DatabaseTarget;
    try {
      target = parseDatabaseUrl(url, oldLayout.root);
    } catch {
      // A URL that does not parse names no database the upgrade could reach; the store reports it.
      continue;
    }
    const known = databases.find((database) => sameDatabase(database.target, target));
    if (known) known.usedBy.push(store);
    else databases.push({ url, target, label: redactDatabaseUrl(url), usedBy: [store] });
  }
  return databases;
}

/**
 * Every database the old home uses that a server started on the new home before promote could reach:
 * production (a new home's store pointed at it by hand) and the shared store databases.
 */
export async function databasesOfOldHome(context: UpgradeContext): Promise<DatabaseTarget[]> {
  const production = parseDatabaseUrl(context.plan.productionUrl, context.oldLayout.root);
  return [production, ...(await sharedStoreDatabases(context)).map((database) => database.target)];
}
