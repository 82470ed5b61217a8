import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';
import { TesseraError } from '../../errors.js';
import type { SecretBox } from '../totp/secret-box.js';

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
 * public one, and nothing logs a row); `cookie` rows the secret that signs the provider's cookies. The private
 * parts are sealed with the home's secrets key (`SecretBox`, as TOTP secrets are), bound to their row: a copy
 * of the database alone, a dump or a backup, cannot sign tokens or cookies. A rotation
 * adds a new signing key and gives the previous ones `retires_at`, a time after every ID token they signed
 * has expired: until then they stay in the JWKS, so that tokens already issued still verify.
 */
export class OidcKeys {
  constructor(
    private readonly db: Kysely<Schema>,
    /** How long a rotated-out key stays published: the longest lifetime of anything it signed. */
    private readonly retireAfterMs: number,
    private readonly box: SecretBox,
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
      signing: signing.map((row) => JSON.parse(this.open(tenantId, row)) as Jwk),
      cookieSecrets: cookies.map((row) => this.open(tenantId, row)),
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
        .values(this.signingRow(tenantId, pair, now))
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
      .values(this.signingRow(tenantId, await newSigningPair(), now))
      .execute();
  }

  private async addCookieSecret(tenantId: number, now: number): Promise<void> {
    const kid = randomBytes(12).toString('base64url');
    await this.db
      .insertInto('oidc_keys')
      .values({
        tenant_id: tenantId,
        kid,
        purpose: 'cookie',
        private_material: this.seal(tenantId, kid, 'cookie', randomBytes(32).toString('base64url')),
        public_jwk: null,
        created_at: now,
        retires_at: null,
      })
      .execute();
  }

  private signingRow(tenantId: number, pair: SigningPair, now: number) {
    return {
      tenant_id: tenantId,
      kid: pair.kid,
      purpose: 'sig',
      private_material: this.seal(tenantId, pair.kid, 'sig', JSON.stringify(pair.privateJwk)),
      public_jwk: JSON.stringify(pair.publicJwk),
      created_at: now,
      retires_at: null,
    };
  }

  private seal(tenantId: number, kid: string, purpose: string, plain: string): string {
    return this.box.seal(Buffer.from(plain), sealContext(tenantId, kid, purpose));
  }

  /** A row's private part; throws (naming the file to copy) when another secrets key sealed it. */
  private open(tenantId: number, row: { kid: string; purpose: string; private_material: string }): string {
    try {
      return this.box.open(row.private_material, sealContext(tenantId, row.kid, row.purpose)).toString();
    } catch {
      throw new TesseraError(
        'STORE_UNAVAILABLE',
        `The OpenID Connect keys of tenant ${tenantId} were sealed with another conf/secrets.key than this node's.`,
        {
          hint: 'Every node of a cluster needs the same conf/secrets.key: copy it from the node that made the keys.',
        },
      );
    }
  }
}

/** What a sealed key is bound to: its tenant, its id and its use, so that it opens in no other row. */
function sealContext(tenantId: number, kid: string, purpose: string): string {
  return `oidc-key:${tenantId}:${kid}:${purpose}`;
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
