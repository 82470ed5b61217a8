import type { Principal } from './authenticator.js';
import type { SecretBox } from './totp/secret-box.js';

/** How long a password that passed waits for its code: long enough to open an authenticator app. */
export const PENDING_SIGN_IN_SECONDS = 5 * 60;

/** A sign-in whose password passed and whose second factor is still to come. */
export interface PendingSignIn {
  principal: Principal;
  /** The password was right but expired: told only once the code passed (SecondFactorRequired). */
  passwordExpired: boolean;
}

interface SealedPayload {
  principal: Principal;
  passwordExpired: boolean;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/**
 * The state a sign-in page hands the browser between the password and the code (README, Two-factor
 * sign-in): the principal that passed the password, sealed with the home's secrets key (AES-256-GCM), so
 * that every node of a cluster opens it and no browser can read or forge it. The page's `binding` (the
 * tenant, the page, and what ties the token to this one sign-in: the form's CSRF cookie, or the OpenID
 * Connect interaction) is the seal's associated data: a token opens only where it was made, and is
 * useless once that sign-in is over (the cookie changed, the interaction finished). It expires after
 * `PENDING_SIGN_IN_SECONDS`.
 */
export class PendingSignIns {
  constructor(
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
  ) {}

  seal(pending: PendingSignIn, binding: string): string {
    const payload: SealedPayload = {
      principal: pending.principal,
      passwordExpired: pending.passwordExpired,
      expiresAt: this.now() + PENDING_SIGN_IN_SECONDS * 1000,
    };
    return this.box.seal(Buffer.from(JSON.stringify(payload)), context(binding));
  }

  /** The pending sign-in, or `undefined` when the token is not one this binding sealed, or expired. */
  open(token: unknown, binding: string): PendingSignIn | undefined {
    if (typeof token !== 'string' || token.length > 8192) return undefined;
    let payload: SealedPayload;
    try {
      payload = JSON.parse(this.box.open(token, context(binding)).toString('utf8')) as SealedPayload;
    } catch {
      return undefined;
    }
    if (typeof payload.expiresAt !== 'number' || payload.expiresAt <= this.now()) return undefined;
    return { principal: payload.principal, passwordExpired: payload.passwordExpired === true };
  }
}

function context(binding: string): string {
  return `pending-sign-in:${binding}`;
}
