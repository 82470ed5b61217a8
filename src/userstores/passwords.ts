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

export async function hashPassword(password: string): Promise<StoredPassword> {
  return { hash: await hash(password, ARGON2_OPTIONS), salt: '', algorithm: 'argon2id' };
}

/** Tessera 1.0's scheme: hex SHA-256 of the hex salt followed by the password. */
export function legacySha256(password: string, salt: string): string {
  return createHash('sha256')
    .update(salt + password, 'utf8')
    .digest('hex');
}

export interface Verification {
  ok: boolean;
  /** True when the password matched a legacy hash and should be stored again as argon2id. */
  needsRehash: boolean;
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the time of one argon2id verification and always fails: used when there is no user (or only a
 * legacy hash, which checks in microseconds), so that a wrong password costs the same whoever it is for.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hash(randomBytes(16).toString('hex'), ARGON2_OPTIONS);
  await verify(await dummyHash, password).catch(() => false);
  return false;
}

export async function verifyPassword(password: string, stored: StoredPassword): Promise<Verification> {
  if (stored.algorithm === 'argon2id') {
    const ok = await verify(stored.hash, password).catch(() => false);
    return { ok, needsRehash: false };
  }
  const expected = Buffer.from(stored.hash, 'hex');
  const actual = Buffer.from(legacySha256(password, stored.salt), 'hex');
  const ok = expected.length === actual.length && timingSafeEqual(expected, actual);
  return { ok, needsRehash: ok };
}
