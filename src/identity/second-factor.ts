import { randomBytes } from 'node:crypto';
import { TesseraError } from '../errors.js';
import type { Principal } from './authenticator.js';
import { base32Encode } from './totp/base32.js';
import { newRecoveryCodes, recoveryCodeDigest } from './totp/recovery-codes.js';
import type { SecondFactorSettings } from './totp/second-factor-settings.js';
import type { SecretBox } from './totp/secret-box.js';
import { matchingStep, TOTP_DIGITS, TOTP_STEP_SECONDS } from './totp/totp.js';
import {
  type StoredAuthenticator,
  type TotpAccount,
  type TotpStore,
  totpAccount,
} from './totp/totp-store.js';

/** What a caller offers as its second factor: a code from the authenticator, or one recovery code. */
export interface SecondFactorProof {
  otp?: string;
  recoveryCode?: string;
}

/**
 * What the second factor says of a principal that passed its password:
 * - `none`: no authenticator; `enrolmentRequired` when its tenant requires one of admins and it is one;
 * - `passed`: a good code (`otp`) or recovery code, now used up;
 * - `missing`: an authenticator is active and no proof was given;
 * - `wrong`: the proof was wrong, or already used.
 */
export type SecondFactorVerdict =
  | { kind: 'none'; enrolmentRequired: boolean }
  | { kind: 'passed'; method: 'otp' | 'recovery-code'; recoveryCodesLeft?: number }
  | { kind: 'missing' }
  | { kind: 'wrong' };

/** An authenticator's state as `GET /me/totp` shows it. */
export interface TotpStatus {
  /** `none`, `pending` (begun, waiting for the first code) or `active`. */
  state: 'none' | 'pending' | 'active';
  recoveryCodesLeft: number;
  requiredForAdmins: boolean;
}

/** What enrolment's first step hands the user: the secret as apps take it, typed or as a QR code. */
export interface TotpEnrolment {
  secret: string;
  uri: string;
  digits: number;
  period: number;
}

/** 160 bits, the HMAC-SHA1 key size RFC 4226 recommends. */
const SECRET_BYTES = 20;

/**
 * TOTP second factor (README, Two-factor sign-in): each account's authenticator, its recovery codes and the
 * verdict a login needs. `judge` is what every login path asks once the password checked out; the
 * `Authenticator` calls it inside the lockout, so that a wrong code counts as a failed login. A principal
 * without an authenticator costs one primary-key read (plus one setting read for an admin).
 */
export class SecondFactor {
  constructor(
    private readonly store: TotpStore,
    private readonly box: SecretBox,
    private readonly settings: SecondFactorSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async judge(principal: Principal, proof: SecondFactorProof | undefined): Promise<SecondFactorVerdict> {
    const who = accountOf(principal);
    // An admin's tenant setting is read beside the authenticator, not after it: one round trip's wait.
    const [stored, policy] = await Promise.all([
      this.store.find(who),
      principal.isTenantAdmin ? this.settings.policy(principal.tenantId) : undefined,
    ]);
    if (!stored || stored.confirmedAt === null)
      return { kind: 'none', enrolmentRequired: policy?.requiredForAdmins === true };
    if (proof?.otp) return (await this.spendCode(who, stored, proof.otp)) ? passed('otp') : { kind: 'wrong' };
    if (proof?.recoveryCode) {
      if (!(await this.store.spendRecoveryCode(who, recoveryCodeDigest(proof.recoveryCode))))
        return { kind: 'wrong' };
      return { ...passed('recovery-code'), recoveryCodesLeft: await this.store.recoveryCodesLeft(who) };
    }
    return { kind: 'missing' };
  }

  async status(principal: Principal): Promise<TotpStatus> {
    const who = accountOf(principal);
    const [stored, policy] = await Promise.all([
      this.store.find(who),
      this.settings.policy(principal.tenantId),
    ]);
    const state = !stored ? 'none' : stored.confirmedAt === null ? 'pending' : 'active';
    return {
      state,
      recoveryCodesLeft: state === 'active' ? await this.store.recoveryCodesLeft(who) : 0,
      requiredForAdmins: policy.requiredForAdmins && principal.isTenantAdmin,
    };
  }

  /** A new secret, not yet active: `confirm` with its first code makes it so. Refused over an active one. */
  async begin(principal: Principal): Promise<TotpEnrolment> {
    const who = accountOf(principal);
    const stored = await this.store.find(who);
    if (stored?.confirmedAt != null)
      throw new TesseraError(
        'CONFLICT',
        'An authenticator is already active: disable it first (DELETE /api/v1/me/totp).',
      );
    const secret = randomBytes(SECRET_BYTES);
    await this.store.begin(who, this.box.seal(secret, sealContext(who)), this.now());
    const text = base32Encode(secret);
    return { secret: text, uri: otpauthUri(principal, text), digits: TOTP_DIGITS, period: TOTP_STEP_SECONDS };
  }

  /** Activates the pending authenticator with a current code; the recovery codes, shown this once. */
  async confirm(principal: Principal, code: string): Promise<string[]> {
    const who = accountOf(principal);
    const stored = await this.store.find(who);
    if (!stored || stored.confirmedAt !== null)
      throw new TesseraError('CONFLICT', 'No enrolment is waiting: begin one first (POST /api/v1/me/totp).');
    const step = matchingStep(this.open(who, stored), code, this.now(), null);
    if (step === undefined)
      throw new TesseraError(
        'BAD_REQUEST',
        "The code is not the authenticator's current one: check the phone's clock, and type the code shown now.",
      );
    const codes = newRecoveryCodes();
    if (!(await this.store.confirm(who, step, codes.map(recoveryCodeDigest), this.now())))
      throw new TesseraError('CONFLICT', 'The enrolment changed meanwhile: begin again.');
    return codes;
  }

  /** Whether `code` is a current, unused code of the principal's active authenticator (and uses it up). */
  async verifyCode(principal: Principal, code: string): Promise<boolean> {
    const who = accountOf(principal);
    const stored = await this.store.find(who);
    return stored?.confirmedAt != null && (await this.spendCode(who, stored, code));
  }

  /** New recovery codes replacing the old ones, shown this once. */
  async regenerateRecoveryCodes(principal: Principal): Promise<string[]> {
    const codes = newRecoveryCodes();
    await this.store.replaceRecoveryCodes(accountOf(principal), codes.map(recoveryCodeDigest));
    return codes;
  }

  /** Removes an account's authenticator (its own choice, or an admin's reset); true when there was one. */
  async remove(tenantId: number, store: string, username: string): Promise<boolean> {
    return this.store.remove(totpAccount(tenantId, store, username));
  }

  private async spendCode(who: TotpAccount, stored: StoredAuthenticator, code: string): Promise<boolean> {
    const step = matchingStep(this.open(who, stored), code, this.now(), stored.lastStep);
    // The conditional write, not the read above, decides: two nodes given one code let one through.
    return step !== undefined && (await this.store.claimStep(who, step));
  }

  private open(who: TotpAccount, stored: StoredAuthenticator): Buffer {
    try {
      return this.box.open(stored.secret, sealContext(who));
    } catch (error) {
      throw new TesseraError(
        'STORE_UNAVAILABLE',
        "The authenticator cannot be read with this node's conf/secrets.key: every node must have the same file.",
        { cause: error },
      );
    }
  }
}

export function accountOf(principal: Principal): TotpAccount {
  return totpAccount(principal.tenantId, principal.store, principal.username);
}

function passed(method: 'otp' | 'recovery-code'): Extract<SecondFactorVerdict, { kind: 'passed' }> {
  return { kind: 'passed', method };
}

/** The associated data a secret is sealed under: its row, so that a sealed secret moved elsewhere fails. */
function sealContext(who: TotpAccount): string {
  return `totp:${who.tenantId}:${who.account}`;
}

/** The Key URI Format authenticator apps read (Google Authenticator's wiki), issuer "Tessera (<tenant>)". */
export function otpauthUri(principal: Principal, secret: string): string {
  const issuer = `Tessera (${principal.tenantDomain})`;
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(principal.qualifiedName)}`;
  const query = new URLSearchParams({
    secret,
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_STEP_SECONDS),
  });
  return `otpauth://totp/${label}?${query.toString().replace(/\+/g, '%20')}`;
}
