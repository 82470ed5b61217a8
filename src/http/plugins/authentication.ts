import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../../errors.js';
import { type Principal, SecondFactorRequired } from '../../identity/authenticator.js';
import { parseBasicAuth } from '../../identity/basic-credentials.js';
import type { LiveSession, SessionStore } from '../../identity/sessions.js';
import { ADMIN_ROLE } from '../../tenants/service.js';
import { PRIMARY_DOMAIN } from '../../userstores/names.js';
import type { ServerContext } from '../context.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The Bearer token the request came with, when it used a console session. */
    sessionToken?: string;
  }
}

/** The caller of an authenticated route; the hook below guarantees it is there. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new TesseraError('UNAUTHENTICATED', 'Authentication required.');
  return request.principal;
}

/** The token of `Authorization: Bearer <token>`, if that is the header's scheme. */
export function parseBearer(header: string | undefined): string | undefined {
  if (!header?.startsWith('Bearer ')) return undefined;
  const token = header.slice(7).trim();
  return token || undefined;
}

/**
 * HTTP Basic on every route of the scope it is added to (README, Admin API); with `sessions`, a
 * console session's `Authorization: Bearer` token is accepted too.
 */
export function requireAdminAuth(
  app: FastifyInstance,
  context: ServerContext,
  sessions?: SessionStore,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const token = sessions && parseBearer(request.headers.authorization);
    if (sessions && token) {
      const session = sessions.use(token);
      // Answered here rather than thrown: the error handler's `WWW-Authenticate: Basic` would make a
      // browser pop its own password prompt over the console's login dialog.
      if (!session) return sessionExpired(reply);
      const refusal = await sessionRefusal(context, session);
      if (refusal) {
        sessions.revoke(token);
        return sessionExpired(reply, refusal);
      }
      if (session.recheckDue) sessions.checked(token);
      if (session.principal.mustEnrolSecondFactor && !ENROLMENT_ROUTES.has(request.routeOptions.url ?? ''))
        throw new TesseraError(
          'SECOND_FACTOR_ENROLMENT_REQUIRED',
          'Your tenant requires admins to use two-factor sign-in: enrol an authenticator first (POST /api/v1/me/totp, then POST /api/v1/me/totp/confirm).',
        );
      request.principal = session.principal;
      request.sessionToken = token;
      return;
    }
    request.principal = await basicPrincipal(request, context);
    if (request.principal.mustEnrolSecondFactor)
      throw new TesseraError(
        'SECOND_FACTOR_ENROLMENT_REQUIRED',
        'Your tenant requires admins to use two-factor sign-in, and HTTP Basic cannot carry a code: log in to the console to enrol an authenticator, then open a session with POST /api/v1/sessions {username, password, otp} and send its token as Authorization: Bearer <token>.',
      );
  });
}

/** What a session limited to enrolling a second factor may reach (and its own `sessions/current`). */
const ENROLMENT_ROUTES: ReadonlySet<string> = new Set([
  '/api/v1/me/totp',
  '/api/v1/me/totp/confirm',
  '/api/v1/sessions/current',
]);

/**
 * Why a live session may no longer be used, if it may not. A session does not outlive its tenant's
 * deactivation or deletion (a tenant created again under the same domain is another tenant), as a password
 * check would not; and every `RECHECK_SECONDS` its user must still exist and still be an admin.
 */
async function sessionRefusal(context: ServerContext, session: LiveSession): Promise<string | undefined> {
  const { principal } = session;
  const tenant = await context.tenants.get(principal.tenantDomain);
  if (!tenant?.active) return 'The tenant is no longer active.';
  if (tenant.id !== session.tenant.id || tenant.createdAt !== session.tenant.createdAt)
    return 'The tenant was deleted.';
  if (!session.recheckDue) return undefined;
  const user = await context.stores.store(tenant.id, principal.store)?.getUser(principal.username);
  if (!user) return 'The user no longer exists.';
  if (!(principal.store === PRIMARY_DOMAIN && user.roles.includes(ADMIN_ROLE)))
    return 'The user is no longer an admin.';
  return undefined;
}

/** The caller named by the request's HTTP Basic credentials; refuses missing or wrong ones. */
export async function basicPrincipal(request: FastifyRequest, context: ServerContext): Promise<Principal> {
  const credentials = parseBasicAuth(request.headers.authorization);
  if (!credentials) throw new TesseraError('UNAUTHENTICATED', 'Authentication required (HTTP Basic).');
  const principal = await context.authenticator
    .authenticate({
      name: credentials.name,
      password: credentials.password,
      address: request.ip,
      via: 'basic',
    })
    .catch((error: unknown) => {
      // Basic sends the password with every request and has no room for a code that changes every 30 s.
      if (error instanceof SecondFactorRequired)
        throw new TesseraError(
          'SECOND_FACTOR_REQUIRED',
          'This account uses two-factor sign-in, and HTTP Basic cannot carry its code: open a session with POST /api/v1/sessions {username, password, otp} and send its token as Authorization: Bearer <token>.',
        );
      throw error;
    });
  if (!principal) throw new TesseraError('UNAUTHENTICATED', 'Invalid credentials.');
  return principal;
}

/** 401 for a token that is unknown or expired, challenging for a Bearer token (RFC 6750), not a password. */
export function sessionExpired(reply: FastifyReply, message = 'The session expired; log in again.') {
  return reply
    .status(401)
    .header('WWW-Authenticate', 'Bearer realm="tessera", error="invalid_token"')
    .send({ error: 'UNAUTHENTICATED', message });
}
