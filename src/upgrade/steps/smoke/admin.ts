import type { Kysely } from 'kysely';
import type { Schema } from '../../../db/schema.js';
import { TesseraError } from '../../../errors.js';
import { SUPER_TENANT_ID } from '../../../home/layout.js';
import { ADMIN_ROLE } from '../../../tenants/service.js';
import { hashPassword } from '../../../userstores/passwords.js';

/**
 * The upgrade does not know the super tenant admin's password, so the smoke test brings its own admin:
 * a super tenant user holding the `admin` role, written straight into the upgraded database and removed
 * when the checks end.
 */
export async function insertSmokeAdmin(
  db: Kysely<Schema>,
  username: string,
  password: string,
): Promise<void> {
  const stored = await hashPassword(password);
  await db.transaction().execute(async (trx) => {
    const role = await trx
      .selectFrom('roles')
      .select('id')
      .where('tenant_id', '=', SUPER_TENANT_ID)
      .where('name', '=', ADMIN_ROLE)
      .executeTakeFirst();
    if (role === undefined) {
      throw new TesseraError(
        'SMOKE_FAILED',
        `The upgraded database has no super tenant "${ADMIN_ROLE}" role.`,
        {
          hint: 'The staging database is not a complete Tessera database: restart the upgrade from a fresh staging database.',
        },
      );
    }
    await trx
      .insertInto('users')
      .values({
        tenant_id: SUPER_TENANT_ID,
        username,
        password_hash: stored.hash,
        password_salt: stored.salt,
        password_algorithm: stored.algorithm,
        is_system: 0,
        created_at: Date.now(),
      })
      .execute();
    const user = await trx
      .selectFrom('users')
      .select('id')
      .where('tenant_id', '=', SUPER_TENANT_ID)
      .where('username', '=', username)
      .executeTakeFirstOrThrow();
    await trx.insertInto('user_roles').values({ user_id: user.id, role_id: role.id }).execute();
  });
}

/** Removes the smoke admin and its role membership; returns how many users were removed (0 or 1). */
export async function removeSmokeAdmin(db: Kysely<Schema>, username: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const users = await trx
      .selectFrom('users')
      .select('id')
      .where('tenant_id', '=', SUPER_TENANT_ID)
      .where('username', '=', username)
      .execute();
    const ids = users.map((u) => u.id);
    if (ids.length === 0) return 0;
    // Explicitly rather than by cascade: every engine then does the same.
    await trx.deleteFrom('user_roles').where('user_id', 'in', ids).execute();
    await trx.deleteFrom('user_attributes').where('user_id', 'in', ids).execute();
    await trx.deleteFrom('users').where('id', 'in', ids).execute();
    return ids.length;
  });
}
