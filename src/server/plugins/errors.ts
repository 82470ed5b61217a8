import type { FastifyError, FastifyInstance } from 'fastify';
import { isTesseraError } from '../../errors.js';
import { withoutReachDetails } from '../../userstores/reach-errors.js';

/** Every error answers `{ error: CODE, message }`; internal details stay in the log. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isTesseraError(error)) {
      if (error.httpStatus >= 500) request.log.error({ err: error }, error.message);
      if (error.code === 'UNAUTHENTICATED') reply.header('WWW-Authenticate', 'Basic realm="tessera"');
      // Whatever route carried it, a store's driver reason (host, port, refusal) is the super admin's only.
      const shown = request.principal?.isSuperAdmin === true ? error : withoutReachDetails(error);
      return reply.status(error.httpStatus).send({ error: error.code, message: shown.message });
    }
    if (error.validation) {
      return reply.status(400).send({ error: 'BAD_REQUEST', message: error.message });
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ error: 'BAD_REQUEST', message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: 'INTERNAL', message: 'Internal server error.' });
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ error: 'NOT_FOUND', message: `No route ${request.method} ${request.url.split('?')[0]}.` });
  });
}
