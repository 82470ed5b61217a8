import { hash } from '@node-rs/argon2';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Schema } from '../../src/db/schema.js';
import {
  ARGON2_OPTIONS,
  hashPassword,
  legacySha256,
  passwordForms,
  verifyPassword,
} from '../../src/userstores/passwords.js';
import { primaryStore } from '../../src/userstores/sql/sql-store.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { clearUserTables, readOnlyStore, type ServerDatabase, serverDatabase } from './helpers.js';

/** `Ångström-café` precomposed (NFC), and decomposed into letters and combining marks (NFD). */
const NFC = '\u00c5ngstr\u00f6m-caf\u00e9';
const NFD = NFC.normalize('NFD');
const ACME = 1;

describe('password normalisation', () => {
  it('tries the NFC form first, then the raw form only when it differs', () => {
    expect(NFD).not.toBe(NFC);
    expect(passwordForms('plain-ascii')).toEqual(['plain-ascii']);
    expect(passwordForms(NFC)).toEqual([NFC]);
    expect(passwordForms(NFD)).toEqual([NFC, NFD]);
  });

  it('hashes the NFC form, so that either form matches a new hash without a re-hash', async () => {
    const stored = await hashPassword(NFD);
    expect(await verifyPassword(NFC, stored)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword(NFD, stored)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('Angstrom-cafe', stored)).toEqual({ ok: false, needsRehash: false });
  });

  it('still matches hashes made from a raw NFD password, asking for a re-hash', async () => {
    const argon = { hash: await hash(NFD, ARGON2_OPTIONS), salt: '', algorithm: 'argon2id' as const };
    expect(await verifyPassword(NFD, argon)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword(NFC, argon)).toEqual({ ok: false, needsRehash: false });
    const salt = 'aabbccdd';
    const legacy = { hash: legacySha256(NFD, salt), salt, algorithm: 'sha256' as const };
    expect(await verifyPassword(NFD, legacy)).toEqual({ ok: true, needsRehash: true });
    const legacyNfc = { hash: legacySha256(NFC, salt), salt, algorithm: 'sha256' as const };
    expect(await verifyPassword(NFD, legacyNfc)).toEqual({ ok: true, needsRehash: true });
  });
});

describe.each(DATABASE_KINDS)('re-hashing a raw NFD password on %s', (kind) => {
  let server: ServerDatabase;
  let db: Kysely<Schema>;

  beforeAll(async () => {
    server = await serverDatabase(kind, { [ACME]: 'acme.com' });
    db = server.database.db;
  });
  afterAll(async () => {
    await server?.dispose();
  });
  beforeEach(async () => {
    await clearUserTables(db);
  });

  async function insertNfdHash(username: string): Promise<string> {
    const stored = await hash(NFD, ARGON2_OPTIONS);
    await db
      .insertInto('users')
      .values({
        tenant_id: ACME,
        username,
        password_hash: stored,
        password_salt: '',
        password_algorithm: 'argon2id',
        is_system: 0,
        created_at: 1,
      })
      .execute();
    return stored;
  }

  async function hashOf(username: string): Promise<string> {
    const row = await db
      .selectFrom('users')
      .select('password_hash')
      .where('username', '=', username)
      .executeTakeFirstOrThrow();
    return row.password_hash;
  }

  it('writes the NFC hash in a writable store, after which both forms match', async () => {
    const old = await insertNfdHash('dora');
    const store = primaryStore(db, ACME);
    expect(await store.authenticate('dora', NFC)).toBeUndefined();
    expect((await store.authenticate('dora', NFD))?.username).toBe('dora');
    expect(await hashOf('dora')).not.toBe(old);
    expect((await store.authenticate('dora', NFC))?.username).toBe('dora');
  });

  it('never writes to a read-only store, whose raw-form login keeps working', async () => {
    const old = await insertNfdHash('dora');
    const store = readOnlyStore(db, ACME);
    expect((await store.authenticate('dora', NFD))?.username).toBe('dora');
    expect((await store.authenticate('dora', NFD))?.username).toBe('dora');
    expect(await hashOf('dora')).toBe(old);
  });
});
