import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/identity/authenticator.js';
import { otpauthUri } from '../../src/identity/second-factor.js';
import { base32Decode, base32Encode } from '../../src/identity/totp/base32.js';
import { newRecoveryCodes, recoveryCodeDigest } from '../../src/identity/totp/recovery-codes.js';
import { SecretBox } from '../../src/identity/totp/secret-box.js';
import { hotp, matchingStep, stepAt, totpAt } from '../../src/identity/totp/totp.js';

/** RFC 6238 appendix B's SHA-1 key: the ASCII of "12345678901234567890". */
const RFC_KEY = Buffer.from('12345678901234567890', 'ascii');

describe('TOTP (RFC 6238 over RFC 4226)', () => {
  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('RFC 6238 appendix B, SHA1, 8 digits: time %i gives %s', (seconds, code) => {
    expect(totpAt(RFC_KEY, seconds * 1000, 8)).toBe(code);
  });

  it("RFC 4226 appendix D's HOTP values, 6 digits", () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583'];
    expect(expected.map((_, counter) => hotp(RFC_KEY, counter))).toEqual(expected);
  });

  it('accepts one step of drift either way, not two', () => {
    const now = 1_700_000_000_000;
    const step = stepAt(now);
    for (const offset of [-1, 0, 1])
      expect(matchingStep(RFC_KEY, hotp(RFC_KEY, step + offset), now, null)).toBe(step + offset);
    for (const offset of [-2, 2])
      expect(matchingStep(RFC_KEY, hotp(RFC_KEY, step + offset), now, null)).toBe(undefined);
  });

  it('refuses a code of a step already used, or older, and anything that is not 6 digits', () => {
    const now = 1_700_000_000_000;
    const step = stepAt(now);
    const code = hotp(RFC_KEY, step);
    expect(matchingStep(RFC_KEY, code, now, step)).toBe(undefined);
    expect(matchingStep(RFC_KEY, hotp(RFC_KEY, step - 1), now, step - 1)).toBe(undefined);
    // The next step is still good after this one was used (a phone a little ahead).
    expect(matchingStep(RFC_KEY, hotp(RFC_KEY, step + 1), now, step)).toBe(step + 1);
    expect(matchingStep(RFC_KEY, `${code.slice(0, 3)} ${code.slice(3)}`, now, null)).toBe(step);
    expect(matchingStep(RFC_KEY, '12345', now, null)).toBe(undefined);
    expect(matchingStep(RFC_KEY, 'abcdef', now, null)).toBe(undefined);
  });
});

describe('base32 (RFC 4648)', () => {
  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('%j <-> %s', (plain, encoded) => {
    expect(base32Encode(Buffer.from(plain))).toBe(encoded);
    expect(base32Decode(encoded).toString()).toBe(plain);
  });

  it('reads a secret as people copy it, and round-trips 160 random bits', () => {
    expect(base32Decode('mzxw 6ytb-oi==').toString()).toBe('foobar');
    const key = randomBytes(20);
    expect(base32Decode(base32Encode(key))).toEqual(key);
    expect(() => base32Decode('MZ1')).toThrow(/not base32/);
  });
});

describe('recovery codes', () => {
  it('are ten distinct codes of 80 bits, found by a digest that ignores case and dashes', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    const [first] = codes as [string];
    expect(recoveryCodeDigest(first.toUpperCase().replace(/-/g, ' '))).toBe(recoveryCodeDigest(first));
    expect(recoveryCodeDigest(first)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('SecretBox', () => {
  it('opens what it sealed for the same row only, and nothing under another key', () => {
    const box = new SecretBox(randomBytes(32));
    const secret = randomBytes(20);
    const sealed = box.seal(secret, 'totp:1:PRIMARY/alice');
    expect(sealed).not.toContain(secret.toString('base64url'));
    expect(box.open(sealed, 'totp:1:PRIMARY/alice')).toEqual(secret);
    expect(() => box.open(sealed, 'totp:1:PRIMARY/bob')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'totp:1:PRIMARY/alice')).toThrow();
  });
});

describe('otpauth URI', () => {
  it('names the issuer "Tessera (<tenant>)" and the account, with the secret and its parameters', () => {
    const principal = { tenantDomain: 'acme.com', qualifiedName: 'alice@acme.com' } as Principal;
    const uri = new URL(otpauthUri(principal, 'MZXW6YTBOI'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Tessera (acme.com):alice@acme.com');
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret: 'MZXW6YTBOI',
      issuer: 'Tessera (acme.com)',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });
});
