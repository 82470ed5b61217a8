import type { Kysely } from 'kysely';
import type { Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import type { Schema } from '../../db/schema.js';
import { SUPER_TENANT_DOMAIN } from '../../home/layout.js';
import { RecentLookups } from '../../tenants/recent-lookups.js';
import type { UserStoreManager } from '../../userstores/manager.js';
import type { LoginGuard } from '../login-guard.js';
import type { SecretBox } from '../totp/secret-box.js';
import { accountClaims } from './account.js';
import { PayloadAdapter, pruneExpired } from './adapter.js';
import { throttledSecretCheck } from './client-auth.js';
import { OidcClients } from './clients.js';
import { OidcKeys, type TenantKeys } from './keys.js';
import { loadProviderLibrary } from './library.js';
import { KEY_RETIREMENT_MS, providerConfiguration } from './provider-config.js';

/** How long a node reuses a tenant's keys before reading them again: a rotation elsewhere shows this late. */
const KEYS_TTL_MS = 1_000;
/** How often expired codes, tokens, sessions and retired keys are removed. */
const PRUNE_INTERVAL_MS = 10 * 60 * 1000;

export interface OidcTenant {
  id: number;
  domain: string;
}

interface BuiltProvider {
  issuer: string;
  keysVersion: string;
  provider: Provider;
}

/** Where a tenant's issuer lives below the public URL: `/t/{domain}/oidc`, the super tenant's at `/oidc`. */
export function issuerPath(domain: string): string {
  return domain === SUPER_TENANT_DOMAIN ? '/oidc' : `/t/${domain}/oidc`;
}

/**
 * The OpenID Connect provider of every tenant (README, OpenID Connect): one oidc-provider instance per tenant,
 * built on first use with the tenant's keys and storage on the server database, and built again when its keys
 * change (a rotation on any node is seen within `KEYS_TTL_MS`) or the issuer does. Everything a provider
 * keeps is in the database, so a rebuilt instance, or another node's, continues the same flows.
 */
export class OidcService {
  readonly clients: OidcClients;
  readonly keys: OidcKeys;
  private readonly built = new Map<number, BuiltProvider>();
  private readonly tenantKeys: RecentLookups<number, TenantKeys>;
  private pruning: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly stores: UserStoreManager,
    private readonly guard: LoginGuard,
    private readonly logger: Logger,
    /** Seals the keys' private parts (the home's `conf/secrets.key`). */
    box: SecretBox,
  ) {
    this.clients = new OidcClients(db);
    this.keys = new OidcKeys(db, KEY_RETIREMENT_MS, box);
    this.tenantKeys = new RecentLookups((tenantId) => this.keys.forTenant(tenantId), KEYS_TTL_MS);
  }

  /** The tenant's provider for `issuer` (the public URL plus `issuerPath`). */
  async provider(tenant: OidcTenant, issuer: string): Promise<Provider> {
    const keys = await this.tenantKeys.get(tenant.id);
    if (!keys) throw new Error(`no OpenID Connect keys for tenant ${tenant.id}`);
    const known = this.built.get(tenant.id);
    if (known && known.issuer === issuer && known.keysVersion === keys.version) return known.provider;
    const provider = await this.build(tenant, issuer, keys);
    this.built.set(tenant.id, { issuer, keysVersion: keys.version, provider });
    return provider;
  }

  /** The secret that signs the tenant's cookies now, which also keys its forms' tokens (interaction.ts). */
  async cookieSecret(tenantId: number): Promise<string> {
    const secret = (await this.tenantKeys.get(tenantId))?.cookieSecrets[0];
    if (!secret) throw new Error(`no OpenID Connect cookie secret for tenant ${tenantId}`);
    return secret;
  }

  /** A new signing key for the tenant; this node signs with it at once, others within `KEYS_TTL_MS`. */
  async rotate(tenantId: number): Promise<{ kid: string; retiring: string[] }> {
    const rotated = await this.keys.rotate(tenantId);
    this.tenantKeys.clear();
    return rotated;
  }

  /**
   * Removes expired provider state and retired keys every `PRUNE_INTERVAL_MS`, the first time one period after
   * the start: the upgrade's smoke step starts a node and compares every table's row count around it.
   */
  startPruning(): void {
    const prune = () => {
      Promise.all([pruneExpired(this.db), this.keys.pruneRetired()])
        .then(([payloads, keys]) => {
          if (payloads + keys > 0) this.logger.debug({ payloads, keys }, 'oidc: pruned expired rows');
        })
        .catch((error: unknown) => this.logger.warn({ reason: String(error) }, 'oidc: pruning failed'));
    };
    this.pruning = setInterval(prune, PRUNE_INTERVAL_MS);
    this.pruning.unref();
  }

  close(): void {
    clearInterval(this.pruning);
    this.built.clear();
  }

  private async build(tenant: OidcTenant, issuer: string, keys: TenantKeys): Promise<Provider> {
    const { Provider, TooManyAttempts } = await loadProviderLibrary();
    const configuration = providerConfiguration({
      issuerPath: new URL(issuer).pathname,
      keys,
      adapter: (model) =>
        new PayloadAdapter(this.db, tenant.id, model, (tenantId, clientId) =>
          this.clients.metadataFor(tenantId, clientId),
        ),
      claimsOf: (sub) => accountClaims(this.stores, tenant.id, tenant.domain, sub),
      logServerError: (error) =>
        this.logger.error({ err: error, tenant: tenant.domain }, 'oidc: provider error'),
    });
    const provider = new Provider(issuer, configuration);
    // The HTTP plugin sets Host and X-Forwarded-Proto from the public URL, and removes clients' own.
    provider.proxy = true;
    provider.Client.prototype.compareClientSecret = throttledSecretCheck(
      this.guard,
      tenant.id,
      (retryAfter) => new TooManyAttempts(retryAfter),
    );
    provider.on('server_error', (_ctx, error) =>
      this.logger.error({ err: error, tenant: tenant.domain }, 'oidc: provider error'),
    );
    return provider;
  }
}
