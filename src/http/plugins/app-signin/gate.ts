import type { IncomingHttpHeaders } from 'node:http';
import type { AppSessions, AppSessionUser } from '../../../identity/app-sessions.js';
import { cookieValues, SESSION_COOKIE } from './scope.js';

/** The session the request's cookie names in `tenantId`, with its token; `undefined` when none is live. */
export async function sessionOf(
  sessions: AppSessions,
  tenantId: number,
  cookieHeader: string | undefined,
): Promise<{ token: string; user: AppSessionUser } | undefined> {
  // A tenant's page may also receive the super tenant's cookie (scoped `/`): each is tried, and only a
  // session of this very tenant counts, so a cookie of tenant A is nothing in tenant B however it is sent.
  for (const token of cookieValues(cookieHeader, SESSION_COOKIE)) {
    const user = await sessions.resolve(token, tenantId);
    if (user) return { token, user };
  }
  return undefined;
}

/**
 * Whether a request without a user should be sent to the sign-in page rather than challenged with 401: a
 * browser's navigation (GET or HEAD, accepting HTML, no `Authorization`, no upgrade). API clients and
 * scripts, which send `Authorization` or ask for something else, keep getting 401 with `WWW-Authenticate`.
 */
export function wantsSignInPage(method: string, headers: IncomingHttpHeaders): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (headers.authorization !== undefined || headers.upgrade !== undefined) return false;
  return (headers.accept ?? '').toLowerCase().includes('text/html');
}
