/** The admin API's identity answers the console's identity pages read (README, Audit trail, Login lockout, Password policy). */

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  /** JSON; for a login `{reason, store, address}`. */
  detail: unknown;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** The `before` of the next (older) page; absent on the last. */
  next?: number;
}

export type SettingSource = 'tenant' | 'server' | 'default';

export interface AuditRetention {
  days: number | null;
  source: SettingSource;
}

export interface Lock {
  failures: number;
  lockedUntil: string;
  lockouts: number;
}

export interface AccountLock extends Lock {
  name: string;
}

export interface AddressLock extends Lock {
  address: string;
}

export interface LockoutRule {
  maxFailures: number;
  windowSeconds: number;
  lockSeconds: number;
  maxLockSeconds: number;
}

export interface LockoutSetting {
  account: LockoutRule;
  /** The super tenant's only. */
  address?: LockoutRule;
  source: SettingSource;
}

export interface PasswordPolicy {
  minLength: number;
  requiredClasses: number;
  refuseCommon: boolean;
  refuseUsername: boolean;
  maxAgeDays: number | null;
}

export interface PasswordPolicyAnswer {
  policy: PasswordPolicy;
  from: SettingSource;
}

/** Which of `fields` a refusal's message names first (the API names the field it refused), if any. */
export function fieldNamed<K extends string>(message: string, fields: readonly K[]): K | undefined {
  let first: { field: K; at: number } | undefined;
  for (const field of fields) {
    const at = message.search(new RegExp(`\\b${field}\\b`));
    if (at >= 0 && (!first || at < first.at)) first = { field, at };
  }
  return first?.field;
}
