import type { ExpressionBuilder, Kysely, Selectable } from 'kysely';
import type { LoginFailuresTable, Schema } from '../db/schema.js';
import { type LockoutRule, lockMs } from './lockout-policy.js';

export type FailureKind = 'account' | 'address';
export type FailureRow = Selectable<LoginFailuresTable>;

/** One subject whose failures are counted: an account of a tenant (or of a typed domain), or an address. */
export interface FailureSubject {
  kind: FailureKind;
  subject: string;
  tenantId: number | null;
}

/**
 * Concurrent failures of one subject (parallel guesses, several nodes): a write that lost the race is tried
 * again on a fresh read, up to this often; each loss means another write succeeded, so the count moves.
 */
const MAX_WRITE_ATTEMPTS = 64;

/**
 * The row after one more failure at `now` under `rule`. A failure after a lock ended, or after the window,
 * starts a new window; the lockout count decays to 0 once a whole window has passed without failures and
 * without a lock; reaching `maxFailures` locks for `lockMs(rule, lockouts)` and counts one more lockout.
 */
export function afterFailure(
  previous: FailureRow | undefined,
  subject: FailureSubject,
  rule: LockoutRule,
  now: number,
): FailureRow {
  const windowMs = rule.windowSeconds * 1000;
  let failures = 1;
  let windowStartedAt = now;
  let lockouts = 0;
  let lockedUntil: number | null = null;
  if (previous) {
    const quietSince = Math.max(previous.last_failure_at, previous.locked_until ?? 0);
    lockouts = quietSince <= now - windowMs ? 0 : previous.lockouts;
    const lockEnded = previous.locked_until !== null && previous.locked_until <= now;
    // Still locked: another node locked it between this attempt's check and now; the lock stands.
    lockedUntil = lockEnded ? null : previous.locked_until;
    if (!lockEnded && previous.window_started_at > now - windowMs) {
      failures = previous.failures + 1;
      windowStartedAt = previous.window_started_at;
    }
  }
  if (lockedUntil === null && failures >= rule.maxFailures) {
    lockedUntil = now + lockMs(rule, lockouts);
    lockouts += 1;
  }
  return {
    kind: subject.kind,
    subject: subject.subject,
    tenant_id: subject.tenantId,
    failures,
    window_started_at: windowStartedAt,
    lockouts,
    locked_until: lockedUntil,
    last_failure_at: now,
  };
}

/**
 * The `login_failures` table (2.1.0): failed logins counted in the database, so that every node of a
 * cluster sees the same counts and locks whatever the cache does. Writes are compare-and-set on the row
 * read, so that failures counted at once on several nodes are each counted, on every engine alike.
 */
export class LoginFailures {
  constructor(private readonly db: Kysely<Schema>) {}

  /** The rows of these subjects (absent: no failure counted). */
  async read(subjects: readonly { kind: string; subject: string }[]): Promise<FailureRow[]> {
    if (subjects.length === 0) return [];
    return this.db
      .selectFrom('login_failures')
      .selectAll()
      .where((eb) =>
        eb.or(subjects.map((s) => eb.and([eb('kind', '=', s.kind), eb('subject', '=', s.subject)]))),
      )
      .execute();
  }

  /** Counts one failure of `subject`; the row as written. */
  async recordFailure(subject: FailureSubject, rule: LockoutRule, now = Date.now()): Promise<FailureRow> {
    for (let attempt = 1; ; attempt++) {
      const [previous] = await this.read([subject]);
      const next = afterFailure(previous, subject, rule, now);
      if (await this.replace(previous, next)) return next;
      if (attempt === MAX_WRITE_ATTEMPTS)
        throw new Error(`login_failures ${subject.kind} row kept changing under ${attempt} writes`);
    }
  }

  /** A success: the account's failures start again from 0 (its lockout count decays as usual). */
  async resetFailures(subject: FailureSubject): Promise<void> {
    await this.db
      .updateTable('login_failures')
      .set({ failures: 0 })
      .where('kind', '=', subject.kind)
      .where('subject', '=', subject.subject)
      .execute();
  }

  /** Unlocks and forgets the subject; false when it had no row. */
  async clear(kind: FailureKind, subject: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('login_failures')
      .where('kind', '=', kind)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** The subjects locked at `now`: a tenant's accounts, or (tenantId null) the addresses. */
  async locked(kind: FailureKind, tenantId: number | null, now = Date.now()): Promise<FailureRow[]> {
    let query = this.db
      .selectFrom('login_failures')
      .selectAll()
      .where('kind', '=', kind)
      .where('locked_until', '>', now);
    query =
      tenantId === null ? query.where('tenant_id', 'is', null) : query.where('tenant_id', '=', tenantId);
    return query.orderBy('subject').execute();
  }

  /**
   * Deletes a batch of at most `batch` rows quiet since `quietBefore`: last failure and lock both before it.
   * With `quietBefore` a whole window ago such a row counts nothing any more (its next failure starts a new
   * window with no lockout remembered, as `afterFailure` would), so deleting it changes no login. The
   * condition is checked again by the DELETE, so a row a login wrote meanwhile is kept.
   */
  async pruneQuiet(quietBefore: number, batch: number): Promise<number> {
    const quiet = (eb: ExpressionBuilder<Schema, 'login_failures'>) =>
      eb.and([
        eb('last_failure_at', '<', quietBefore),
        eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', quietBefore)]),
      ]);
    const rows = await this.db
      .selectFrom('login_failures')
      .select(['kind', 'subject'])
      .where(quiet)
      .limit(batch)
      .execute();
    let deleted = 0;
    for (const kind of new Set(rows.map((row) => row.kind))) {
      const subjects = rows.filter((row) => row.kind === kind).map((row) => row.subject);
      const result = await this.db
        .deleteFrom('login_failures')
        .where('kind', '=', kind)
        .where('subject', 'in', subjects)
        .where(quiet)
        .executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
    return deleted;
  }

  /** Writes `next` where the row is still `previous`; false when another writer came first. */
  private async replace(previous: FailureRow | undefined, next: FailureRow): Promise<boolean> {
    if (!previous) {
      try {
        await this.db.insertInto('login_failures').values(next).execute();
        return true;
      } catch (error) {
        // Another node inserted the row first (a key conflict, whatever the engine calls it): read it again.
        const [now] = await this.read([next]);
        if (now) return false;
        throw error;
      }
    }
    // Every write changes `failures` or `window_started_at`, so MySQL (which counts changed rows, not
    // matched ones) reports 1 exactly when the row matched.
    const result = await this.db
      .updateTable('login_failures')
      .set({
        failures: next.failures,
        window_started_at: next.window_started_at,
        lockouts: next.lockouts,
        locked_until: next.locked_until,
        last_failure_at: next.last_failure_at,
      })
      .where('kind', '=', previous.kind)
      .where('subject', '=', previous.subject)
      .where('failures', '=', previous.failures)
      .where('window_started_at', '=', previous.window_started_at)
      .where('lockouts', '=', previous.lockouts)
      .where('last_failure_at', '=', previous.last_failure_at)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
