import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LdapUserStore } from '../../../src/userstores/ldap/store.js';
import { hashPassword, verifyPassword } from '../../../src/userstores/passwords.js';
import { type SeededDirectory, seededDirectory } from './slapd.js';

/** `café-naïve` precomposed (NFC) and decomposed (NFD, as macOS types it). */
const NFC = 'caf\u00e9-na\u00efve';
const NFD = NFC.normalize('NFD');

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe('LDAP store passwords against slapd', () => {
  let directory: SeededDirectory | undefined;
  let store: LdapUserStore;

  beforeAll(async () => {
    // Set outside Tessera with the raw NFD bytes, as another tool could.
    const users = [
      { uid: 'dora', password: NFD },
      { uid: 'alice', password: 'alice-ldap-pw' },
    ];
    directory = await seededDirectory(users, {}, { timeoutMs: 2_000, readOnly: false });
    store = directory.store;
  });
  afterAll(async () => {
    await directory?.dispose();
  });

  it('writes passwords from their NFC form, so that either form binds', async () => {
    await store.addUser({ username: 'zoe', password: NFD });
    expect((await store.authenticate('zoe', NFC))?.username).toBe('zoe');
    expect((await store.authenticate('zoe', NFD))?.username).toBe('zoe');
    expect(await store.setPassword('zoe', NFC)).toBe(true);
    expect((await store.authenticate('zoe', NFD))?.username).toBe('zoe');
    expect(await store.authenticate('zoe', 'cafe-naive')).toBeUndefined();
  });

  it('still binds with the raw form of a password the directory holds un-normalised', async () => {
    expect((await store.authenticate('dora', NFD))?.username).toBe('dora');
  });

  it('spends an argon2 verification on a refusal, as the SQL stores do', async () => {
    const stored = await hashPassword('some-password');
    const argon: number[] = [];
    const refusals: number[] = [];
    for (let round = 0; round <= 15; round++) {
      let started = performance.now();
      await verifyPassword('wrong-password', stored);
      const argonMs = performance.now() - started;
      started = performance.now();
      expect(await store.authenticate(round % 2 ? 'alice' : 'nobody', 'wrong-password')).toBeUndefined();
      const refusalMs = performance.now() - started;
      if (round > 0) {
        argon.push(argonMs);
        refusals.push(refusalMs);
      }
    }
    expect(median(refusals)).toBeGreaterThanOrEqual(0.5 * median(argon));
  });
});
