import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import type { PasswordPolicies } from '../tenants/password-policy.js';

/** The release whose schema added `users.password_changed_at`. */
const AGE_RECORDED_SINCE = '2.1.0';
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The password policy's maximum age (README, Password policy), for the stores that record when a password
 * was set (PRIMARY). A password set before 2.1.0 has no date: its age counts from the moment this database
 * reached 2.1.0 (its schema history), so an upgrade never expires every old password at once.
 */
export class PasswordAge {
  private ageOrigin: Promise<number> | undefined;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly policies: PasswordPolicies,
  ) {}

  /** Whether a password set at `changedAt` (null: before 2.1.0) is past the tenant's maximum age at `now`. */
  async expired(tenantId: number, changedAt: number | null, now = Date.now()): Promise<boolean> {
    const { policy } = await this.policies.policyFor(tenantId);
    if (policy.maxAgeDays === null) return false;
    const since = changedAt ?? (await this.undatedSince());
    return now - since > policy.maxAgeDays * DAY_MS;
  }

  /** When 2.1.0's scripts ran here: read once, since it never changes while the database serves. */
  private undatedSince(): Promise<number> {
    this.ageOrigin ??= this.db
      .selectFrom('tessera_schema_history')
      .select((eb) => eb.fn.min('started_at').as('at'))
      .where('version', '=', AGE_RECORDED_SINCE)
      .executeTakeFirst()
      // No history row cannot happen on a database that serves 2.1.0; counting from now is the safe side.
      .then((row) => (row?.at == null ? Date.now() : Number(row.at)))
      .catch((error: unknown) => {
        this.ageOrigin = undefined; // asked again at the next login rather than failing every one
        throw error;
      });
    return this.ageOrigin;
  }
}
