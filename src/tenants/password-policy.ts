import { TesseraError } from '../errors.js';
import { SUPER_TENANT_ID } from '../home/layout.js';
import { COMMON_PASSWORDS } from './common-passwords.js';
import type { TenantSettings } from './settings.js';

/** The rules a new password must follow in one tenant (its `password_policy` setting). */
export interface PasswordPolicy {
  /** Characters (Unicode code points) at least. */
  minLength: number;
  /** Of the four classes (lower case, upper case, digit, anything else), how many must appear: 0 to 4. */
  requiredClasses: number;
  /** Refuse the passwords at the top of leaked-password lists (`common-passwords.ts`). */
  refuseCommon: boolean;
  /** Refuse the user's name as a password, alone or with fewer than 4 other characters. */
  refuseUsername: boolean;
  /**
   * Days a PRIMARY store password may be used before a login is refused with PASSWORD_EXPIRED (until it is
   * changed); null: no maximum age. Secondary stores do not record when a password was set.
   */
  maxAgeDays: number | null;
}

export const PASSWORD_POLICY_SETTING = 'password_policy';

/** Where no tenant says otherwise: NIST SP 800-63B's advice, length and a deny list over composition. */
export const DEFAULT_PASSWORD_POLICY: Readonly<PasswordPolicy> = Object.freeze({
  minLength: 8,
  requiredClasses: 0,
  refuseCommon: true,
  refuseUsername: true,
  // NIST SP 800-63B advises against forced periodic changes: off unless a tenant asks for it.
  maxAgeDays: null,
});

/** Longer than any password the API takes (1024), so a policy cannot refuse every password. */
const MAX_MIN_LENGTH = 128;
/** Never below the floor every release kept: 8. */
const MIN_MIN_LENGTH = 8;
/** Ten years: longer would be no maximum at all, which is what null says. */
export const MAX_MAX_AGE_DAYS = 3650;

/**
 * A policy from what a client sent (or what the database holds): every field checked, missing fields
 * from `base`, unknown fields refused, each problem named by its field.
 */
export function parsePasswordPolicy(
  value: unknown,
  base: PasswordPolicy = DEFAULT_PASSWORD_POLICY,
): PasswordPolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TesseraError('BAD_REQUEST', 'A password policy is a JSON object.');
  const fields = value as Record<string, unknown>;
  const known = new Set(Object.keys(DEFAULT_PASSWORD_POLICY));
  const unknown = Object.keys(fields).filter((key) => !known.has(key));
  if (unknown.length > 0)
    throw new TesseraError('BAD_REQUEST', `Unknown password policy field ${unknown.join(', ')}.`, {
      hint: `The fields are ${[...known].join(', ')}.`,
    });
  const policy = { ...base };
  if (fields.minLength !== undefined)
    policy.minLength = integerIn(fields.minLength, 'minLength', MIN_MIN_LENGTH, MAX_MIN_LENGTH);
  if (fields.requiredClasses !== undefined)
    policy.requiredClasses = integerIn(fields.requiredClasses, 'requiredClasses', 0, 4);
  if (fields.refuseCommon !== undefined)
    policy.refuseCommon = booleanField(fields.refuseCommon, 'refuseCommon');
  if (fields.refuseUsername !== undefined)
    policy.refuseUsername = booleanField(fields.refuseUsername, 'refuseUsername');
  if (fields.maxAgeDays !== undefined)
    policy.maxAgeDays =
      fields.maxAgeDays === null ? null : integerIn(fields.maxAgeDays, 'maxAgeDays', 1, MAX_MAX_AGE_DAYS);
  return policy;
}

/** Each rule `password` breaks, in words a user can act on; none when it is allowed. */
export function passwordProblems(
  password: string,
  policy: Omit<PasswordPolicy, 'maxAgeDays'>,
  username?: string,
): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < policy.minLength)
    problems.push(`it has ${length} characters and needs at least ${policy.minLength} (minLength)`);
  if (policy.requiredClasses > 0) {
    const classes = characterClasses(password);
    if (classes < policy.requiredClasses)
      problems.push(
        `it mixes ${classes} of the character classes (lower case, upper case, digits, others) and needs ${policy.requiredClasses} (requiredClasses)`,
      );
  }
  if (policy.refuseCommon && COMMON_PASSWORDS.has(password.toLowerCase()))
    problems.push('it is one of the most common passwords, tried first by every attacker (refuseCommon)');
  const name = username?.split('/').pop()?.toLowerCase();
  if (policy.refuseUsername && name && isNameWithLittleElse(password.toLowerCase(), name))
    problems.push(
      'it is the user name, or the user name with fewer than 4 other characters (refuseUsername)',
    );
  return problems;
}

/** `alice`, `Alice2024`, `!alice!`: what an attacker tries first for an account; `alice-and-the-rabbit` is not. */
function isNameWithLittleElse(password: string, name: string): boolean {
  return password.includes(name) && [...password].length - [...name].length < 4;
}

function characterClasses(password: string): number {
  let classes = 0;
  if (/\p{Ll}/u.test(password)) classes++;
  if (/\p{Lu}/u.test(password)) classes++;
  if (/\p{Nd}/u.test(password)) classes++;
  if (/[^\p{Ll}\p{Lu}\p{Nd}]/u.test(password)) classes++;
  return classes;
}

/**
 * Each tenant's password policy: its own setting, else the super tenant's (the server's default), else
 * `DEFAULT_PASSWORD_POLICY`. A stored value that no longer parses falls back to the default rather than
 * letting every password through.
 */
export class PasswordPolicies {
  constructor(private readonly settings: TenantSettings) {}

  /** The policy in force for the tenant, and whose it is. */
  async policyFor(
    tenantId: number,
  ): Promise<{ policy: PasswordPolicy; from: 'tenant' | 'server' | 'default' }> {
    const own = await this.settings.read(tenantId, PASSWORD_POLICY_SETTING);
    if (own !== undefined)
      return { policy: safeParse(own), from: tenantId === SUPER_TENANT_ID ? 'server' : 'tenant' };
    if (tenantId !== SUPER_TENANT_ID) {
      const server = await this.settings.read(SUPER_TENANT_ID, PASSWORD_POLICY_SETTING);
      if (server !== undefined) return { policy: safeParse(server), from: 'server' };
    }
    return { policy: { ...DEFAULT_PASSWORD_POLICY }, from: 'default' };
  }

  /** Refuses (400 `PASSWORD_POLICY`) a password the tenant's policy does not allow, naming each rule. */
  async assertAllowed(
    tenantId: number,
    tenantDomain: string,
    password: string,
    username?: string,
  ): Promise<void> {
    const { policy } = await this.policyFor(tenantId);
    const problems = passwordProblems(password, policy, username);
    if (problems.length > 0)
      throw new TesseraError('PASSWORD_POLICY', `The password is refused: ${problems.join('; ')}.`, {
        hint: `The password policy of ${tenantDomain}: GET /api/v1/tenants/${tenantDomain}/settings/password-policy.`,
      });
  }
}

function safeParse(value: unknown): PasswordPolicy {
  try {
    return parsePasswordPolicy(value);
  } catch {
    return { ...DEFAULT_PASSWORD_POLICY };
  }
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new TesseraError(
      'BAD_REQUEST',
      `Password policy ${field} must be an integer from ${min} to ${max}.`,
    );
  return value;
}

function booleanField(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean')
    throw new TesseraError('BAD_REQUEST', `Password policy ${field} must be true or false.`);
  return value;
}
