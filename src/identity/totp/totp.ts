import { createHmac, timingSafeEqual } from 'node:crypto';

/** RFC 6238's defaults, which every authenticator app assumes when the otpauth URI says nothing else. */
export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the server's: a phone's clock a little off still works (RFC 6238 §6). */
export const TOTP_DRIFT_STEPS = 1;

/** RFC 4226's HOTP: HMAC-SHA1 of the 8-byte counter, dynamically truncated to `digits` decimal digits. */
export function hotp(key: Uint8Array, counter: number, digits = TOTP_DIGITS): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The time step a moment falls in (RFC 6238's T, with T0 = 0). */
export function stepAt(epochMs: number): number {
  return Math.floor(epochMs / 1000 / TOTP_STEP_SECONDS);
}

/** The code an authenticator shows at `epochMs`. */
export function totpAt(key: Uint8Array, epochMs: number, digits = TOTP_DIGITS): string {
  return hotp(key, stepAt(epochMs), digits);
}

/**
 * The step whose code `code` is, within the drift allowed around `epochMs` and after `lastUsedStep` (a
 * code used once is refused for the rest of its window, and so is any older one), or `undefined`.
 * Every candidate is compared in constant time, and all of them always, so the timing tells nothing.
 */
export function matchingStep(
  key: Uint8Array,
  code: string,
  epochMs: number,
  lastUsedStep: number | null,
): number | undefined {
  const typed = code.replace(/\s/g, '');
  if (!/^\d{6}$/.test(typed)) return undefined;
  const now = stepAt(epochMs);
  let found: number | undefined;
  for (let step = now - TOTP_DRIFT_STEPS; step <= now + TOTP_DRIFT_STEPS; step++) {
    const equal = timingSafeEqual(Buffer.from(hotp(key, step)), Buffer.from(typed));
    if (equal && found === undefined && (lastUsedStep === null || step > lastUsedStep)) found = step;
  }
  return found;
}
