import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../../errors.js';
import { type Principal, parseBasicAuth } from '../auth.js';
import type { ServerContext } from '../context.js';
import type { SessionStore } from '../sessions.js';

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
 * HTTP Basic on every route of the scope it is added to (DESIGN 4: the admin API); with `sessions`, a
 * console session's `Authorization: Bearer` token is accepted too.
 */
export function requireBasicAuth(
  app: FastifyInstance,
  context: ServerContext,
  sessions?: SessionStore,
): void {
  app.addHook('onRequest', async (request, reply) => {
    const token = sessions && parseBearer(request.headers.authorization);
    if (sessions && token) {
      const principal = sessions.use(token);
      // Answered here rather than thrown: the error handler's `WWW-Authenticate: Basic` would make a
      // browser pop its own password prompt over the console's login dialog.
      if (!principal) return sessionExpired(reply);
      // A session does not outlive its tenant's deactivation, as a password check would not.
      if (!(await context.tenants.get(principal.tenantDomain))?.active) {
        sessions.revoke(token);
        return sessionExpired(reply, 'The tenant is no longer active.');
      }
      request.principal = principal;
      request.sessionToken = token;
      return;
    }
    request.principal = await basicPrincipal(request, context);
  });
}

/** The caller named by the request's HTTP Basic credentials; refuses missing or wrong ones. */
export async function basicPrincipal(request: FastifyRequest, context: ServerContext): Promise<Principal> {
  const credentials = parseBasicAuth(request.headers.authorization);
  if (!credentials) throw new TesseraError('UNAUTHENTICATED', 'Authentication required (HTTP Basic).');
  const principal = await context.authenticator.authenticate(credentials.name, credentials.password);
  context.metrics.authentications.inc({ outcome: principal ? 'success' : 'failure' });
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
