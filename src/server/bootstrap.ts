import { randomBytes } from 'node:crypto';
import type { Database } from '../db/connection.js';
import { CURRENT_RELEASE } from '../releases/matrix.js';
import { migrateTo } from '../releases/migrator.js';
import { createSuperTenant } from '../tenants/service.js';

/**
 * A first start on an empty database: the schema at the current release, then the super tenant and its
 * `admin`, whose password is the given one or a generated one returned so that it can be shown once.
 */
export async function bootstrapDatabase(
  database: Database,
  adminPassword: string | undefined,
): Promise<{ generatedPassword: string | undefined }> {
  await migrateTo(database, CURRENT_RELEASE);
  const generated = adminPassword ? undefined : randomBytes(12).toString('base64url');
  await createSuperTenant(database.db, adminPassword ?? (generated as string));
  return { generatedPassword: generated };
}
