import { createHmac, timingSafeEqual } from 'node:crypto';
import type { InteractionDetails, InteractionResults, Provider } from 'oidc-provider';
import { displayName } from '../../userstores/names.js';
import type { Principal } from '../authenticator.js';

/**
 * What a sign-in at a tenant's issuer records once the password passed (and, for an account with an
 * authenticator, its code: the code step ends here too). The account id is the user's name inside the
 * tenant, as `sub` (account.ts).
 */
export async function passwordPassed(principal: Principal): Promise<InteractionResults> {
  return { login: { accountId: displayName(principal.store, principal.username) } };
}

/** The consent the interaction asks for, granted: a grant holding what was missing, saved; its id. */
export async function grantConsent(provider: Provider, details: InteractionDetails): Promise<string> {
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (!accountId || typeof clientId !== 'string') throw new Error('consent asked without a session');
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(resource, scopes.join(' '));
  return grant.save();
}

/**
 * The token a sign-in or consent form carries: an HMAC of the interaction's uid under the tenant's cookie
 * secret. The interaction cookie is SameSite=Lax already; this makes a form posted from anywhere else
 * useless even where that does not hold.
 */
export function formToken(cookieSecret: string, uid: string): string {
  return createHmac('sha256', cookieSecret).update(`oidc-form:${uid}`).digest('base64url');
}

/**
 * What a pending sign-in's seal (pending-sign-in.ts) is bound to at an issuer: the tenant and the
 * interaction, so that a token opens in this sign-in only, and in none once it finished.
 */
export function pendingBinding(tenantId: number, uid: string): string {
  return `oidc:${tenantId}:${uid}`;
}

export function formTokenMatches(cookieSecret: string, uid: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(formToken(cookieSecret, uid));
  const actual = Buffer.from(presented);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
