import type { ProviderClient } from 'oidc-provider';
import { accountSubject } from '../authenticator.js';
import { type LoginGuard, LoginLocked } from '../login-guard.js';
import { secretMatches } from './client-metadata.js';
import { currentRequestScope } from './request-scope.js';

/** The store name a client's failures are counted under in `login_failures` (`<tenant>/OIDC-CLIENT/<id>`). */
export const CLIENT_SUBJECT_STORE = 'OIDC-CLIENT';

/** What a locked client is told: the token endpoint's error, with its status and Retry-After. */
export type LockedAnswer = (retryAfterSeconds: number) => Error;

/**
 * The token endpoint's check of a confidential client's secret, behind the login lockout: a locked client (or
 * address) is refused before the secret is compared, a wrong secret counts against both, and a right one
 * resets the client's count. Installed as the provider's `compareClientSecret`, whose `clientSecret` holds
 * the stored hash (client-metadata.ts).
 */
export function throttledSecretCheck(guard: LoginGuard, tenantId: number, locked: LockedAnswer) {
  return async function compareClientSecret(this: ProviderClient, actual: string): Promise<boolean> {
    const request = currentRequestScope();
    const address = request?.address ?? 'unknown';
    const account = {
      kind: 'account' as const,
      // As accountSubject names it, so that DELETE /tenants/{domain}/lockouts/OIDC-CLIENT/{id} clears it.
      subject: accountSubject(tenantId, CLIENT_SUBJECT_STORE, this.clientId),
      tenantId,
    };
    let admission: Awaited<ReturnType<LoginGuard['admit']>>;
    try {
      admission = await guard.admit(account, address, tenantId);
    } catch (error) {
      if (!(error instanceof LoginLocked)) throw error;
      const retryAfter = error.retryAfterSeconds ?? 1;
      request?.response.setHeader('Retry-After', String(retryAfter));
      throw locked(retryAfter);
    }
    const ok = typeof this.clientSecret === 'string' && secretMatches(actual, this.clientSecret);
    if (ok) await guard.succeeded(admission);
    else await guard.failed(admission);
    return ok;
  };
}
