import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TesseraError } from '../../errors.js';
import type { MaintenanceMode, WriteDone } from '../../maintenance/mode.js';

/** Methods that change nothing: always let through. */
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Writes that keep working in maintenance (README, Maintenance mode): the logins, which write nothing a
 * maintenance must hold still (a console session lives in the node's memory, a legacy re-hash is skipped),
 * and the switch itself, or the mode could never be switched off through the API.
 */
const LET_THROUGH: ReadonlySet<string> = new Set([
  'POST /api/v1/authenticate',
  'POST /api/v1/sessions',
  'DELETE /api/v1/sessions/current',
  // Signing in to (and out of) apps: logins keep working in maintenance, and write their session row as a
  // login's failures are counted (README, Signing in to apps).
  'POST /.tessera/sign-in',
  'POST /t/:domain/.tessera/sign-in',
  // The second step of such a login (the TOTP code), which records the code's step as POST /sessions does.
  'POST /.tessera/sign-in/code',
  'POST /t/:domain/.tessera/sign-in/code',
  'POST /.tessera/sign-out',
  'POST /t/:domain/.tessera/sign-out',
  // OpenID Connect: the sign-in and consent forms, and the provider's endpoints (token, revocation,
  // end-session), which keep a client's users signed in; their rows are the provider's state, as above.
  'POST /oidc/interaction/:uid/login',
  'POST /oidc/interaction/:uid/consent',
  'POST /t/:domain/oidc/interaction/:uid/login',
  'POST /t/:domain/oidc/interaction/:uid/consent',
  'POST /oidc/*',
  'POST /t/:domain/oidc/*',
  'PUT /api/v1/maintenance',
  'DELETE /api/v1/maintenance',
]);

/**
 * Refuses every other write with 503 MAINTENANCE while the mode is on, and counts the writes it lets in
 * until their answer is sent, so that the node can wait for them before it acknowledges `on`
 * (maintenance/mode.ts). Added on the root, before any route, so that it sees every request.
 */
export function registerMaintenanceGate(app: FastifyInstance, mode: MaintenanceMode): void {
  const running = new WeakMap<FastifyRequest, WriteDone>();
  // Callback hooks, not async ones: these run for every request, and a read costs them one Set lookup.
  app.addHook('onRequest', (request, _reply, done) => {
    if (READ_METHODS.has(request.method)) return done();
    if (LET_THROUGH.has(`${request.method} ${request.routeOptions.url ?? ''}`)) return done();
    const write = mode.beginWrite();
    if (write === undefined) {
      const { message, retryAfterSeconds } = mode.state;
      return done(new TesseraError('MAINTENANCE', message, { retryAfterSeconds }));
    }
    running.set(request, write);
    done();
  });
  // The handler has finished (its answer, or its error's, is being sent): the write is over. onResponse
  // too, for an answer that never reached onSend. Only a write let in has anything to finish.
  const finish = (request: FastifyRequest) => {
    if (READ_METHODS.has(request.method)) return;
    running.get(request)?.();
    running.delete(request);
  };
  app.addHook('onSend', (request, _reply, payload, done) => {
    finish(request);
    done(null, payload);
  });
  app.addHook('onResponse', (request, _reply, done) => {
    finish(request);
    done();
  });
}
