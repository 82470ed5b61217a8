import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';
import { SUPER_TENANT_ID, webappsFolder } from '../../home/layout.js';
import { appNameProblem } from '../../webapps/app-name.js';
import { packFolder } from '../../webapps/versions/pack-folder.js';
import { AppVersionStore } from '../../webapps/versions/version-store.js';
import { scanWebapps } from '../../webapps/webapps-scan.js';
import type { UpgradeContext } from '../types.js';

/** An app of the new home recorded as a version in staging. */
export interface CarriedApp {
  tenantId: number;
  name: string;
  version: number;
  checksum: string;
  bytes: number;
}

export interface CarriedApps {
  apps: CarriedApp[];
  /** Entries not recorded, each with why (a tenant folder without a tenant, a name no node would deploy). */
  skipped: string[];
}

/** Who the versions carried by an upgrade are recorded as deployed by. */
const UPGRADE_ACTOR = 'tessera upgrade';

/**
 * From 2.1.0 on the database holds each app's versions, and every node serves the current one. An older
 * home's apps are files in its `webapps/` folders only: each one copied into the new home is recorded in
 * staging as its app's current version here, so that every node of the new release serves it (not only
 * the one started on this home), and so that the first start finds it recorded rather than recording it
 * then. Configure records them, and smoke again before it counts rows (an app the operator fixed in the new
 * home after a failed smoke is a new version by then). Bytes that are an app's current version already are
 * not recorded twice, so a resumed run records nothing new.
 * Nothing happens when staging's schema has no app versions (a target release before 2.1.0).
 */
export async function recordCarriedApps(context: UpgradeContext): Promise<CarriedApps> {
  const staging = await context.staging();
  const tables = new Set((await staging.db.introspection.getTables()).map((t) => t.name));
  const carried: CarriedApps = { apps: [], skipped: [] };
  if (!tables.has('webapp_versions')) return carried;
  const db = staging.db as unknown as Kysely<Schema>;
  const known = new Set((await db.selectFrom('tenants').select('id').execute()).map((t) => Number(t.id)));
  // Pruning does not apply to a first version: any count keeps it.
  const store = new AppVersionStore(db, 1);
  const tenantIds = await tenantFolderIds(context.newLayout.tenants);
  for (const tenantId of [SUPER_TENANT_ID, ...tenantIds]) {
    const sources = await scanWebapps(webappsFolder(context.newLayout, tenantId));
    if (sources.length > 0 && !known.has(tenantId)) {
      carried.skipped.push(
        `tenant folder ${tenantId}: no such tenant in the database, its apps are not served`,
      );
      continue;
    }
    for (const source of sources) {
      const problem = appNameProblem(source.name);
      if (problem) {
        carried.skipped.push(`${tenantId}/${source.entry}: ${problem}`);
        continue;
      }
      const bytes = source.kind === 'zip' ? await readFile(source.path) : await packFolder(source.path);
      const recorded = await store.record(tenantId, source.name, bytes, {
        origin: source.kind,
        deployedBy: UPGRADE_ACTOR,
      });
      carried.apps.push({
        tenantId,
        name: source.name,
        version: recorded.version,
        checksum: recorded.checksum,
        bytes: bytes.length,
      });
    }
  }
  return carried;
}

/** The ids of the tenant folders in a home (a tenant's folder is named by its id), ascending. */
async function tenantFolderIds(tenantsFolder: string): Promise<number[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(tenantsFolder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isDirectory() && /^\d+$/.test(entry.name))
    .map((entry) => Number(entry.name))
    .sort((a, b) => a - b);
}
