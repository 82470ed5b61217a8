import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TesseraError } from '../../errors.js';
import { type Principal, parseBasicAuth } from '../auth.js';
import type { ServerContext } from '../context.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** The caller of an authenticated route; the hook below guarantees it is there. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new TesseraError('UNAUTHENTICATED', 'Authentication required.');
  return request.principal;
}

/** HTTP Basic on every route of the scope it is added to (DESIGN 4: the admin API). */
export function requireBasicAuth(app: FastifyInstance, context: ServerContext): void {
  app.addHook('onRequest', async (request) => {
    const credentials = parseBasicAuth(request.headers.authorization);
    if (!credentials) throw new TesseraError('UNAUTHENTICATED', 'Authentication required (HTTP Basic).');
    const principal = await context.authenticator.authenticate(credentials.name, credentials.password);
    context.metrics.authentications.inc({ outcome: principal ? 'success' : 'failure' });
    if (!principal) throw new TesseraError('UNAUTHENTICATED', 'Invalid credentials.');
    request.principal = principal;
  });
}
