import { TesseraError } from '../errors.js';
import type { LockoutPolicy } from './lockout-policy.js';
import type { LockoutSettings } from './lockout-settings.js';
import type { FailureKind, FailureSubject, LoginFailures } from './login-failures.js';

/** What `admit` found: the policy to count with and the subjects to count. */
export interface LoginAdmission {
  policy: LockoutPolicy;
  /** Absent for a name that names no account at all (malformed): only the address is counted. */
  account: FailureSubject | undefined;
  address: FailureSubject;
  /** The account's failures in its window before this attempt: a success writes only when there are some. */
  accountFailures: number;
}

/** A login refused before any password was checked: `locked` says which subject was. */
export class LoginLocked extends TesseraError {
  constructor(
    readonly locked: FailureKind,
    retryAfterSeconds: number,
  ) {
    // Says nothing of the password, nor of whether the account exists: unknown names lock alike.
    super('TOO_MANY_ATTEMPTS', `Too many failed logins: try again in ${retryAfterSeconds} s.`, {
      retryAfterSeconds,
    });
  }
}

/**
 * Brute-force protection in front of every password check (README, Login lockout). `admit` refuses a
 * locked account or address before any hash is computed, so that a guess at a locked account costs the
 * server one indexed read; `failed` counts a refusal against both; `succeeded` resets the account's count
 * (never the address's: one right password must not buy an address another 50 guesses).
 */
export class LoginGuard {
  constructor(
    private readonly failures: LoginFailures,
    private readonly settings: LockoutSettings,
  ) {}

  /** The admission of an attempt, or `LoginLocked` (429 TOO_MANY_ATTEMPTS with Retry-After). */
  async admit(
    account: FailureSubject | undefined,
    address: string,
    tenantId: number | undefined,
    now = Date.now(),
  ): Promise<LoginAdmission> {
    const addressSubject: FailureSubject = {
      kind: 'address',
      subject: normaliseAddress(address),
      tenantId: null,
    };
    const subjects = account ? [account, addressSubject] : [addressSubject];
    const [effective, rows] = await Promise.all([
      this.settings.effective(tenantId),
      this.failures.read(subjects),
    ]);
    let accountFailures = 0;
    for (const row of rows) {
      if (row.locked_until !== null && row.locked_until > now)
        throw new LoginLocked(row.kind as FailureKind, Math.ceil((row.locked_until - now) / 1000));
      if (row.kind === 'account') accountFailures = row.failures;
    }
    return { policy: effective.policy, account, address: addressSubject, accountFailures };
  }

  async failed(admission: LoginAdmission): Promise<void> {
    const { policy, account, address } = admission;
    await Promise.all([
      account && this.failures.recordFailure(account, policy.account),
      this.failures.recordFailure(address, policy.address),
    ]);
  }

  async succeeded(admission: LoginAdmission): Promise<void> {
    if (admission.account && admission.accountFailures > 0)
      await this.failures.resetFailures(admission.account);
  }
}

/** The address as counted: an IPv4 client seen on a dual-stack socket is the IPv4 address it is. */
export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
