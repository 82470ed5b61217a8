import { createHash, randomBytes } from 'node:crypto';
import { base32Encode } from './base32.js';

/** How many recovery codes a user is given at a time. */
export const RECOVERY_CODE_COUNT = 10;

/**
 * Fresh recovery codes, as shown to the user once: 80 random bits each, in base32 as `xxxx-xxxx-xxxx-xxxx`.
 * That much entropy is why they are stored as plain SHA-256 rather than argon2id: a slow hash protects
 * guessable secrets (passwords); no one can search 2^80 values per code even at SHA-256's speed, and a fast
 * hash lets a login find the code by its digest with one indexed lookup instead of ten argon2 runs.
 */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const text = base32Encode(randomBytes(10)).toLowerCase();
    return text.match(/.{4}/g)?.join('-') ?? text;
  });
}

/** The digest a recovery code is stored and looked up by; case, spaces and dashes as typed do not matter. */
export function recoveryCodeDigest(code: string): string {
  const canonical = code.toLowerCase().replace(/[\s-]/g, '');
  return createHash('sha256').update(canonical).digest('hex');
}
