import { type AccountClaims, SCOPE_CLAIMS } from './account.js';
import type { ProviderAdapter } from './adapter.js';
import type { TenantKeys } from './keys.js';
import { errorPage, logoutPage, signedOutPage } from './pages.js';

/** Lifetimes, in seconds, of what a tenant's provider issues. */
export const TOKEN_TTL = {
  AccessToken: 3600,
  AuthorizationCode: 60,
  IdToken: 3600,
  Interaction: 600,
  RefreshToken: 14 * 24 * 3600,
  Session: 14 * 24 * 3600,
  Grant: 14 * 24 * 3600,
} as const;

/**
 * How long a rotated-out signing key stays in the JWKS: what it signed (ID tokens; access tokens are opaque)
 * lives at most `IdToken` seconds, plus five minutes of clock skew at the relying parties.
 */
export const KEY_RETIREMENT_MS = (TOKEN_TTL.IdToken + 300) * 1000;

/** Minimal view of the koa context the hooks below use; oidc-provider passes its own. */
interface HookContext {
  body?: unknown;
  type?: string;
  oidc?: { client?: { clientId: string; clientName?: string } };
}

export interface TenantProviderInput {
  /** The tenant's path prefix of the issuer (`/t/acme.com/oidc`, or `/oidc`), where interactions live too. */
  issuerPath: string;
  keys: TenantKeys;
  adapter: (model: string) => ProviderAdapter;
  claimsOf: (sub: string) => Promise<AccountClaims | undefined>;
  logServerError: (error: unknown) => void;
}

/**
 * oidc-provider's configuration for one tenant: authorization code only, PKCE required for public clients,
 * refresh tokens for `offline_access`, RS256 ID tokens signed with the tenant's keys, userinfo claims from the
 * user's store, RP-initiated logout, and Tessera's own pages. Every setting that is the library's default is
 * left out.
 */
export function providerConfiguration(input: TenantProviderInput): Record<string, unknown> {
  return {
    adapter: class {
      constructor(model: string) {
        // biome-ignore lint/correctness/noConstructorReturn: oidc-provider instantiates the adapter class per model
        return input.adapter(model);
      }
    },
    jwks: { keys: input.keys.signing },
    cookies: {
      keys: input.keys.cookieSecrets,
      // Every tenant's session cookie has the same name: its path keeps one tenant's from replacing another's.
      long: { signed: true, httpOnly: true, sameSite: 'lax', path: input.issuerPath },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS).filter((scope) => scope !== 'openid')],
    claims: SCOPE_CLAIMS,
    pkce: {
      required: (_ctx: unknown, client: { clientAuthMethod: string }) => client.clientAuthMethod === 'none',
    },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    extraClientMetadata: { properties: ['first_party'] },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: HookContext, form: string) => {
          const client = ctx.oidc?.client;
          ctx.type = 'html';
          ctx.body = logoutPage(form, client?.clientName ?? client?.clientId);
        },
        postLogoutSuccessSource: async (ctx: HookContext) => {
          ctx.type = 'html';
          ctx.body = signedOutPage();
        },
      },
    },
    ttl: TOKEN_TTL,
    interactions: {
      url: async (_ctx: unknown, interaction: { uid: string }) =>
        `${input.issuerPath}/interaction/${interaction.uid}`,
    },
    findAccount: async (_ctx: unknown, sub: string) => {
      const claims = await input.claimsOf(sub);
      return claims && { accountId: sub, claims: async () => claims };
    },
    renderError: async (ctx: HookContext, out: Record<string, unknown>, error: unknown) => {
      if ((error as { status?: number }).status === undefined || (error as { status: number }).status >= 500)
        input.logServerError(error);
      ctx.type = 'html';
      ctx.body = errorPage('Sign-in failed', out);
    },
  };
}
