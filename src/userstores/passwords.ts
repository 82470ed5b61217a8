import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Algorithm, hash, verify } from '@node-rs/argon2';

export type PasswordAlgorithm = 'argon2id' | 'sha256';

/** A stored password: for argon2id the salt lives inside the PHC string and `salt` is empty. */
export interface StoredPassword {
  hash: string;
  salt: string;
  algorithm: PasswordAlgorithm;
}

export const ARGON2_OPTIONS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/**
 * The forms of a typed password worth checking, in order. Hashes are made from the NFC form, so that
 * `é` typed as one code point or as `e` plus a combining accent (macOS, some keyboards) is one password;
 * the raw form follows when it differs, for hashes made before passwords were normalised.
 */
export function passwordForms(password: string): string[] {
  const nfc = password.normalize('NFC');
  return nfc === password ? [password] : [nfc, password];
}

export async function hashPassword(password: string): Promise<StoredPassword> {
  return { hash: await hash(password.normalize('NFC'), ARGON2_OPTIONS), salt: '', algorithm: 'argon2id' };
}

/** Tessera 1.0's scheme: hex SHA-256 of the hex salt followed by the password. */
export function legacySha256(password: string, salt: string): string {
  return createHash('sha256')
    .update(salt + password, 'utf8')
    .digest('hex');
}

export interface Verification {
  ok: boolean;
  /**
   * True when the password matched but should be stored again as argon2id of its NFC form: a legacy
   * hash, or a hash made from a form that was not NFC.
   */
  needsRehash: boolean;
}

let dummyHash: Promise<string> | undefined;

function dummy(): Promise<string> {
  dummyHash ??= hash(randomBytes(16).toString('hex'), ARGON2_OPTIONS).catch((error: unknown) => {
    // Made again next time rather than failing every later refusal.
    dummyHash = undefined;
    throw error;
  });
  return dummyHash;
}

/**
 * Spends the time of verifying `password` against an argon2id hash and always fails: used when there is
 * no hash to check (unknown user, tenant or store, or only a legacy hash, which checks in microseconds),
 * so that a wrong password costs the same whoever it is for. As many verifications as `verifyPassword`
 * would make: one per form in `passwordForms`.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  const stored = await dummy();
  for (const form of passwordForms(password)) await verify(stored, form).catch(() => false);
  return false;
}

/** Makes the dummy hash now, so that the first failed login does not pay for hashing it. */
export async function prepareDummyHash(): Promise<void> {
  await dummy();
}

export async function verifyPassword(password: string, stored: StoredPassword): Promise<Verification> {
  const forms = passwordForms(password);
  for (const [index, form] of forms.entries()) {
    if (await matches(form, stored))
      return { ok: true, needsRehash: index > 0 || stored.algorithm !== 'argon2id' };
  }
  return { ok: false, needsRehash: false };
}

async function matches(password: string, stored: StoredPassword): Promise<boolean> {
  if (stored.algorithm === 'argon2id') return verify(stored.hash, password).catch(() => false);
  const expected = Buffer.from(stored.hash, 'hex');
  const actual = Buffer.from(legacySha256(password, stored.salt), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
