import { TesseraError } from '../errors.js';

/** The name of the setting in `tenant_settings` (README, Login lockout). */
export const LOCKOUT_SETTING = 'lockout';

/** How one kind of subject (an account, a client address) is locked after failed logins. */
export interface LockoutRule {
  /** Failures within the window that lock the subject. */
  maxFailures: number;
  /** How long the failures are counted, from the first one. */
  windowSeconds: number;
  /** The first lock; each further lockout doubles it. */
  lockSeconds: number;
  /** The doubling stops here. */
  maxLockSeconds: number;
}

export interface LockoutPolicy {
  account: LockoutRule;
  /** Only the super tenant's setting has one: addresses are counted across tenants. */
  address: LockoutRule;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = {
  account: { maxFailures: 5, windowSeconds: 900, lockSeconds: 60, maxLockSeconds: 3600 },
  address: { maxFailures: 50, windowSeconds: 900, lockSeconds: 300, maxLockSeconds: 3600 },
};

/** OWASP ASVS (V2.2.1): no more than 100 failed attempts an hour on one account. */
export const MAX_ACCOUNT_FAILURES_PER_HOUR = 100;

const HOUR_SECONDS = 3600;
const MAX_ADDRESS_FAILURES = 100_000;
const DAY_SECONDS = 86_400;

/** How long the lock after `lockouts` earlier lockouts lasts, in milliseconds. */
export function lockMs(rule: LockoutRule, lockouts: number): number {
  // 2^lockouts overflows nothing that matters: past a few dozen doublings the cap has long won.
  const doubled = rule.lockSeconds * 2 ** Math.min(lockouts, 32);
  return Math.min(doubled, rule.maxLockSeconds) * 1000;
}

/**
 * The most failures an attacker gets through one account in an hour under `rule`, the larger of its two
 * strategies: never lock (one failure short of the limit per window), or a burst of `maxFailures` at once
 * and again the moment each lock ends (locks double, since the lockout count decays only after a whole
 * window without failures, which costs more time than it saves).
 */
export function worstFailuresPerHour(rule: LockoutRule): number {
  const belowLimit = (rule.maxFailures - 1) * Math.ceil(HOUR_SECONDS / rule.windowSeconds);
  let bursts = 0;
  for (let at = 0, lockouts = 0; at < HOUR_SECONDS; lockouts++) {
    bursts++;
    at += lockMs(rule, lockouts) / 1000;
  }
  return Math.max(belowLimit, bursts * rule.maxFailures);
}

/**
 * The policy a setting value stands for, each missing field taken from `base` (the server's policy for a
 * tenant, the built-in defaults for the super tenant). Refuses with BAD_REQUEST, naming the rule broken,
 * a value of the wrong shape, a rule out of range, an account rule that lets more than
 * `MAX_ACCOUNT_FAILURES_PER_HOUR` failures through in an hour, and an address rule where `allowAddress`
 * is false (a tenant's setting: addresses are the server's, counted across tenants).
 */
export function parseLockoutSetting(
  value: unknown,
  base: LockoutPolicy,
  allowAddress: boolean,
): LockoutPolicy {
  if (!isObject(value)) throw bad('the lockout setting is a JSON object { account, address }');
  for (const key of Object.keys(value)) {
    if (key !== 'account' && key !== 'address')
      throw bad(`the lockout setting has no "${key}": it takes "account" and "address"`);
  }
  if (value.address !== undefined && !allowAddress)
    throw bad('only the super tenant sets "address": addresses are counted across tenants');
  const account = parseRule('account', value.account, base.account);
  const worst = worstFailuresPerHour(account);
  if (worst > MAX_ACCOUNT_FAILURES_PER_HOUR)
    throw bad(
      `this account rule lets ${worst} failed logins an hour through one account; OWASP ASVS allows at most ${MAX_ACCOUNT_FAILURES_PER_HOUR} (lower maxFailures, or lengthen windowSeconds or lockSeconds)`,
    );
  return { account, address: parseRule('address', value.address, base.address) };
}

function parseRule(kind: string, value: unknown, base: LockoutRule): LockoutRule {
  if (value === undefined) return base;
  if (!isObject(value))
    throw bad(`"${kind}" is an object { maxFailures, windowSeconds, lockSeconds, maxLockSeconds }`);
  const rule = { ...base };
  const limits: Record<keyof LockoutRule, [number, number]> = {
    // An address may stand for many users behind one NAT: it may take far more than an account.
    maxFailures: [1, kind === 'account' ? MAX_ACCOUNT_FAILURES_PER_HOUR : MAX_ADDRESS_FAILURES],
    windowSeconds: [1, DAY_SECONDS],
    lockSeconds: [1, DAY_SECONDS],
    maxLockSeconds: [1, DAY_SECONDS],
  };
  for (const [key, field] of Object.entries(value)) {
    if (!(key in limits)) throw bad(`"${kind}" has no "${key}"`);
    const [min, max] = limits[key as keyof LockoutRule];
    if (typeof field !== 'number' || !Number.isInteger(field) || field < min || field > max)
      throw bad(`${kind}.${key} is a whole number from ${min} to ${max}`);
    rule[key as keyof LockoutRule] = field;
  }
  if (rule.maxLockSeconds < rule.lockSeconds)
    throw bad(`${kind}.maxLockSeconds is at least ${kind}.lockSeconds (${rule.lockSeconds})`);
  return rule;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(rule: string): TesseraError {
  return new TesseraError('BAD_REQUEST', `Invalid lockout setting: ${rule}.`);
}
