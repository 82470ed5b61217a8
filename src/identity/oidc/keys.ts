import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';

const generateRsaPair = promisify(generateKeyPair);

/** A JSON Web Key as oidc-provider takes it (`jwks.keys`), private parts included for signing keys. */
export type Jwk = Record<string, string>;

/** A tenant's keys as its provider is built with them: signing keys newest first, cookie secrets likewise. */
export interface TenantKeys {
  /** Private JWKs: the first signs, the others are only published until they retire. */
  signing: Jwk[];
  cookieSecrets: string[];
  /** Changes whenever the set changes (a rotation, a retirement): a provider built on another is stale. */
  version: string;
}

/** A signing key as the API shows it: public parts only. */
export interface PublicKeyView {
  kid: string;
  alg: string;
  status: 'signing' | 'retiring';
  createdAt: string;
  /** When a rotated-out key leaves the JWKS; absent for the key that signs. */
  retiresAt?: string;
  publicJwk: Jwk;
}

/** The algorithm every tenant signs with: RS256, which every OpenID Connect client must accept. */
export const SIGNING_ALG = 'RS256';

/**
 * Each tenant's OpenID Connect keys, in `oidc_keys` so that every node signs with the same key and publishes
 * the same JWKS. `sig` rows hold an RSA key pair (the private JWK never leaves the server: the API shows the
 * public one, and nothing logs a row); `cookie` rows the secret that signs the provider's cookies. A rotation
 * adds a new signing key and gives the previous ones `retires_at`, a time after every ID token they signed
 * has expired: until then they stay in the JWKS, so that tokens already issued still verify.
 */
export class OidcKeys {
  constructor(
    private readonly db: Kysely<Schema>,
    /** How long a rotated-out key stays published: the longest lifetime of anything it signed. */
    private readonly retireAfterMs: number,
  ) {}

  /** The tenant's live keys, made on first use (two nodes racing make two keys: both published, one signs). */
  async forTenant(tenantId: number, now = Date.now()): Promise<TenantKeys> {
    let rows = await this.live(tenantId, now);
    const missing: Promise<void>[] = [];
    if (!rows.some((row) => row.purpose === 'sig' && row.retires_at === null))
      missing.push(this.addSigningKey(tenantId, now));
    if (!rows.some((row) => row.purpose === 'cookie')) missing.push(this.addCookieSecret(tenantId, now));
    if (missing.length > 0) {
      await Promise.all(missing);
      rows = await this.live(tenantId, now);
    }
    const signing = rows.filter((row) => row.purpose === 'sig');
    const cookies = rows.filter((row) => row.purpose === 'cookie');
    return {
      signing: signing.map((row) => JSON.parse(row.private_material) as Jwk),
      cookieSecrets: cookies.map((row) => row.private_material),
      version: rows.map((row) => `${row.kid}:${row.retires_at ?? ''}`).join(','),
    };
  }

  /** The signing keys' public parts and status, newest first. */
  async list(tenantId: number, now = Date.now()): Promise<PublicKeyView[]> {
    const rows = await this.live(tenantId, now);
    return rows
      .filter((row) => row.purpose === 'sig' && row.public_jwk !== null)
      .map((row) => ({
        kid: row.kid,
        alg: SIGNING_ALG,
        status: row.retires_at === null ? 'signing' : 'retiring',
        createdAt: new Date(Number(row.created_at)).toISOString(),
        ...(row.retires_at === null ? {} : { retiresAt: new Date(Number(row.retires_at)).toISOString() }),
        publicJwk: JSON.parse(row.public_jwk ?? '{}') as Jwk,
      }));
  }

  /** A new signing key; the ones that signed until now retire once what they signed has expired. */
  async rotate(tenantId: number, now = Date.now()): Promise<{ kid: string; retiring: string[] }> {
    const pair = await newSigningPair();
    return this.db.transaction().execute(async (trx) => {
      const previous = await trx
        .selectFrom('oidc_keys')
        .select('kid')
        .where('tenant_id', '=', tenantId)
        .where('purpose', '=', 'sig')
        .where('retires_at', 'is', null)
        .execute();
      if (previous.length > 0)
        await trx
          .updateTable('oidc_keys')
          .set({ retires_at: now + this.retireAfterMs })
          .where('tenant_id', '=', tenantId)
          .where('purpose', '=', 'sig')
          .where('retires_at', 'is', null)
          .execute();
      await trx
        .insertInto('oidc_keys')
        .values(signingRow(tenantId, pair, now))
        .execute();
      return { kid: pair.kid, retiring: previous.map((row) => row.kid) };
    });
  }

  /** Removes keys whose retirement has passed; the count removed. */
  async pruneRetired(now = Date.now()): Promise<number> {
    const result = await this.db.deleteFrom('oidc_keys').where('retires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private async live(tenantId: number, now: number) {
    const rows = await this.db
      .selectFrom('oidc_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', now)]))
      .execute();
    // Newest first, and a fixed order among equals, so that every node picks the same key to sign with.
    return rows.sort(
      (a, b) =>
        Number(a.retires_at !== null) - Number(b.retires_at !== null) ||
        Number(b.created_at) - Number(a.created_at) ||
        (a.kid < b.kid ? -1 : 1),
    );
  }

  private async addSigningKey(tenantId: number, now: number): Promise<void> {
    await this.db
      .insertInto('oidc_keys')
      .values(signingRow(tenantId, await newSigningPair(), now))
      .execute();
  }

  private async addCookieSecret(tenantId: number, now: number): Promise<void> {
    await this.db
      .insertInto('oidc_keys')
      .values({
        tenant_id: tenantId,
        kid: randomBytes(12).toString('base64url'),
        purpose: 'cookie',
        private_material: randomBytes(32).toString('base64url'),
        public_jwk: null,
        created_at: now,
        retires_at: null,
      })
      .execute();
  }
}

interface SigningPair {
  kid: string;
  privateJwk: Jwk;
  publicJwk: Jwk;
}

async function newSigningPair(): Promise<SigningPair> {
  const { privateKey, publicKey } = await generateRsaPair('rsa', { modulusLength: 2048 });
  const kid = randomBytes(12).toString('base64url');
  const common = { kid, alg: SIGNING_ALG, use: 'sig' };
  return {
    kid,
    privateJwk: { ...(privateKey.export({ format: 'jwk' }) as Jwk), ...common },
    publicJwk: { ...(publicKey.export({ format: 'jwk' }) as Jwk), ...common },
  };
}

function signingRow(tenantId: number, pair: SigningPair, now: number) {
  return {
    tenant_id: tenantId,
    kid: pair.kid,
    purpose: 'sig',
    private_material: JSON.stringify(pair.privateJwk),
    public_jwk: JSON.stringify(pair.publicJwk),
    created_at: now,
    retires_at: null,
  };
}
