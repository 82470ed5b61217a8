import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LOCKOUT,
  lockMs,
  MAX_ACCOUNT_FAILURES_PER_HOUR,
  parseLockoutSetting,
  worstFailuresPerHour,
} from '../../src/identity/lockout-policy.js';
import { afterFailure, type FailureRow, type FailureSubject } from '../../src/identity/login-failures.js';

const ALICE: FailureSubject = { kind: 'account', subject: '7/PRIMARY/alice', tenantId: 7 };
const RULE = DEFAULT_LOCKOUT.account;
const MINUTE = 60_000;

/** `count` failures one second apart from `start`, each written over the last. */
function failures(count: number, start: number, row?: FailureRow): FailureRow | undefined {
  let last = row;
  for (let i = 0; i < count; i++) last = afterFailure(last, ALICE, RULE, start + i * 1000);
  return last;
}

describe('the lockout policy', () => {
  it('keeps the defaults within OWASP ASVS: at most 100 failed logins an hour per account', () => {
    expect(worstFailuresPerHour(DEFAULT_LOCKOUT.account)).toBe(30);
    expect(worstFailuresPerHour(DEFAULT_LOCKOUT.account)).toBeLessThanOrEqual(MAX_ACCOUNT_FAILURES_PER_HOUR);
  });

  it('counts the attacker who never locks, and the one who bursts at each lock end', () => {
    // One short of the limit per window, four windows an hour.
    expect(
      worstFailuresPerHour({ maxFailures: 26, windowSeconds: 900, lockSeconds: 3600, maxLockSeconds: 3600 }),
    ).toBe(100);
    // Bursts at 0, 1, 3, 7, ... 2047 s: 12 of them.
    expect(
      worstFailuresPerHour({ maxFailures: 3, windowSeconds: 3600, lockSeconds: 1, maxLockSeconds: 3600 }),
    ).toBe(36);
    // A lock that never grows: a burst every minute.
    expect(
      worstFailuresPerHour({ maxFailures: 5, windowSeconds: 3600, lockSeconds: 60, maxLockSeconds: 60 }),
    ).toBe(300);
  });

  it('fills what a setting leaves out from its base and names the rule it refuses', () => {
    expect(parseLockoutSetting({ account: { maxFailures: 3 } }, DEFAULT_LOCKOUT, false)).toEqual({
      account: { ...RULE, maxFailures: 3 },
      address: DEFAULT_LOCKOUT.address,
    });
    expect(() => parseLockoutSetting([], DEFAULT_LOCKOUT, true)).toThrow('is a JSON object');
    expect(() => parseLockoutSetting({ account: { maxFailures: 2.5 } }, DEFAULT_LOCKOUT, true)).toThrow(
      'account.maxFailures is a whole number from 1 to 100',
    );
    expect(() => parseLockoutSetting({ address: { maxFailures: 500 } }, DEFAULT_LOCKOUT, false)).toThrow(
      'only the super tenant sets "address"',
    );
    // An address may take far more failures than an account (many users behind one NAT).
    expect(
      parseLockoutSetting({ address: { maxFailures: 500 } }, DEFAULT_LOCKOUT, true).address.maxFailures,
    ).toBe(500);
  });

  it('doubles each lock up to the cap', () => {
    expect([0, 1, 2, 5, 6, 40].map((lockouts) => lockMs(RULE, lockouts) / 1000)).toEqual([
      60, 120, 240, 1920, 3600, 3600,
    ]);
  });
});

describe('a failure counted', () => {
  it('locks at the 5th failure within the window, for 1 minute, then 2 after the lock ends', () => {
    const four = failures(4, 0);
    expect(four).toMatchObject({ failures: 4, locked_until: null, lockouts: 0, window_started_at: 0 });
    const locked = afterFailure(four, ALICE, RULE, 5000);
    expect(locked).toMatchObject({ failures: 5, locked_until: 5000 + MINUTE, lockouts: 1 });
    // After the lock: a new window, and the next lock lasts twice as long.
    const again = failures(5, 5000 + MINUTE, locked);
    expect(again).toMatchObject({
      failures: 5,
      lockouts: 2,
      locked_until: 5000 + MINUTE + 4000 + 2 * MINUTE,
    });
  });

  it('starts a new window once the last one is over', () => {
    const old = failures(4, 0);
    expect(afterFailure(old, ALICE, RULE, 16 * MINUTE)).toMatchObject({
      failures: 1,
      window_started_at: 16 * MINUTE,
    });
  });

  it('forgets the lockouts after a whole window without failures and without a lock', () => {
    const locked = failures(5, 0);
    expect(locked?.lockouts).toBe(1);
    // The lock ended at 1 min + 4 s; a failure within the following 15 min keeps the count...
    expect(afterFailure(locked, ALICE, RULE, 10 * MINUTE).lockouts).toBe(1);
    // ...one after them starts over.
    expect(afterFailure(locked, ALICE, RULE, 17 * MINUTE).lockouts).toBe(0);
  });

  it('keeps the lock another node made meanwhile', () => {
    const locked = failures(5, 0);
    expect(afterFailure(locked, ALICE, RULE, 10_000)).toMatchObject({
      locked_until: locked?.locked_until,
      lockouts: 1,
    });
  });
});
