import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { isTesseraError } from '../../errors.js';
import { withoutReachDetails } from '../../userstores/reach-errors.js';
import { noteOutcome } from './request-log.js';

/**
 * Every error answers `{ error: CODE, message }`; internal details stay in the log. Nothing is logged here:
 * the request's one log line (request-log.ts) carries the code, and for a 5xx the error with its stack.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isTesseraError(error)) {
      noteOutcome(
        request,
        error.httpStatus >= 500 ? { code: error.code, error } : { code: error.code, message: error.message },
      );
      if (error.code === 'UNAUTHENTICATED') reply.header('WWW-Authenticate', 'Basic realm="tessera"');
      if (error.retryAfterSeconds !== undefined) reply.header('Retry-After', String(error.retryAfterSeconds));
      // Whatever route carried it, a store's driver reason (host, port, refusal) is the super admin's only.
      const shown = request.principal?.isSuperAdmin === true ? error : withoutReachDetails(error);
      return reply.status(error.httpStatus).send({ error: error.code, message: shown.message });
    }
    if (error.statusCode === 415) {
      const message = unsupportedMediaType(request);
      noteOutcome(request, { code: 'UNSUPPORTED_MEDIA_TYPE', message });
      return reply.status(415).send({ error: 'UNSUPPORTED_MEDIA_TYPE', message });
    }
    const status = error.validation ? 400 : (error.statusCode ?? 500);
    if (status >= 400 && status < 500) {
      noteOutcome(request, { code: 'BAD_REQUEST', message: error.message });
      return reply.status(status).send({ error: 'BAD_REQUEST', message: error.message });
    }
    noteOutcome(request, { code: 'INTERNAL', error });
    return reply.status(500).send({ error: 'INTERNAL', message: 'Internal server error.' });
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ error: 'NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}.` });
  });
}

/** Names what was sent and what the route takes: JSON, unless its schema declares other body types. */
function unsupportedMediaType(request: FastifyRequest): string {
  const body = request.routeOptions.schema?.body as { content?: Record<string, unknown> } | undefined;
  const accepted = body?.content ? Object.keys(body.content) : ['application/json'];
  const expected = accepted.join(' or ');
  const sent = request.headers['content-type'];
  const what = sent ? `a body of type ${sent.split(';')[0]}` : 'a body without a Content-Type';
  return `${request.method} ${request.url.split('?')[0]} takes ${expected}, not ${what}: send the body with Content-Type: ${accepted[0]}.`;
}
