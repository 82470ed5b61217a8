import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Schema } from '../../../db/schema.js';
import { type HomeLayout, SUPER_TENANT_ID, tenantFolder } from '../../../home/layout.js';
import type { SmokeNames } from './names.js';

/** What the smoke test created that is still there: database rows and folders of the new home. */
export interface SmokeLeftovers {
  tenants: { id: number; domain: string }[];
  adminUsers: number;
  auditRows: number;
  /** Absolute paths: the work folder, smoke tenant folders, their copies under backups/. */
  folders: string[];
}

export function describeLeftovers(leftovers: SmokeLeftovers): string[] {
  return [
    ...leftovers.tenants.map((t) => `tenant ${t.domain} (id ${t.id})`),
    ...(leftovers.adminUsers > 0 ? [`${leftovers.adminUsers} smoke admin user(s)`] : []),
    ...(leftovers.auditRows > 0 ? [`${leftovers.auditRows} audit_log row(s)`] : []),
    ...leftovers.folders,
  ];
}

/** Looks for everything of this run's smoke test, in the database and in the new home. */
export async function findSmokeLeftovers(
  db: Kysely<Schema>,
  layout: HomeLayout,
  names: SmokeNames,
): Promise<SmokeLeftovers> {
  const domains = names.tenants.map((t) => t.domain);
  const tenants = await db
    .selectFrom('tenants')
    .select(['id', 'domain'])
    .where('domain', 'in', domains)
    .execute();
  const admins = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('username', '=', names.admin)
    .executeTakeFirstOrThrow();
  const audit = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('actor', '=', names.auditActor)
    .executeTakeFirstOrThrow();
  const folders = [
    ...(existsSync(names.workFolder) ? [names.workFolder] : []),
    // A tenant folder made before its marker was written is found by the tenant's id.
    ...tenants.map((t) => tenantFolder(layout, t.id)).filter((folder) => existsSync(folder)),
    ...(await markedFolders(layout.tenants, names.markerFile)),
    ...(await markedFolders(layout.backups, names.markerFile)),
  ];
  return {
    tenants: tenants.map((t) => ({ id: Number(t.id), domain: t.domain })),
    adminUsers: Number(admins.n),
    auditRows: Number(audit.n),
    folders: [...new Set(folders)].sort(),
  };
}

/**
 * Removes what `findSmokeLeftovers` finds: the smoke tenants (their users, roles, store domains and
 * attributes go with them by the schema's cascades, as when the server deletes a tenant), the audit rows
 * the smoke admin caused, and the folders. The smoke admin itself is removed by its own module.
 */
export async function removeSmokeLeftovers(
  db: Kysely<Schema>,
  layout: HomeLayout,
  names: SmokeNames,
): Promise<SmokeLeftovers> {
  const found = await findSmokeLeftovers(db, layout, names);
  if (found.tenants.length > 0) {
    await db
      .deleteFrom('tenants')
      .where(
        'id',
        'in',
        found.tenants.map((t) => t.id),
      )
      .execute();
  }
  if (found.auditRows > 0) await db.deleteFrom('audit_log').where('actor', '=', names.auditActor).execute();
  for (const folder of found.folders) await rm(folder, { recursive: true, force: true });
  return found;
}

/** The folders directly inside `parent` that hold the smoke marker file. */
async function markedFolders(parent: string, markerFile: string): Promise<string[]> {
  if (!existsSync(parent)) return [];
  const entries = await readdir(parent, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && existsSync(path.join(parent, entry.name, markerFile)))
    .map((entry) => path.join(parent, entry.name));
}

/** What the new release writes for each login (README, Login lockout): audit rows of these actions. */
const LOGIN_ACTIONS = ['login.success', 'login.failure', 'login.locked'];

/**
 * Removes what the smoke test's logins wrote since `since` (epoch ms, before its server logged anyone in):
 * their audit rows, whoever logged in (the smoke accounts and `--check-login`'s existing ones), and the
 * failed-login counts. Staging is the smoke test's alone meanwhile, so nothing else wrote these. Returns the
 * audit rows removed.
 */
export async function removeSmokeLogins(db: Kysely<Schema>, since: number): Promise<number> {
  const audit = await db
    .deleteFrom('audit_log')
    .where('action', 'in', LOGIN_ACTIONS)
    .where('created_at', '>=', since)
    .executeTakeFirst();
  await db.deleteFrom('login_failures').where('last_failure_at', '>=', since).execute();
  return Number(audit.numDeletedRows);
}
