import type { FastifyInstance } from 'fastify';

const API_PREFIX = '/api/v1';

/**
 * Headers every answer carries, errors, 404s and early refusals (sent from hooks) included:
 * `X-Content-Type-Options: nosniff` everywhere, so that a browser never runs a file as a script or style
 * it was not declared as (tenants' files share the console's origin); and `Cache-Control: no-store` on the
 * admin API, whose answers hold session tokens and tenants' data that no browser or proxy cache may keep.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  // A callback hook, not an async one: no promise and no microtask per answer.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    // The route's pattern when one matched (however the path was spelled: `%76` for `v`), else the path.
    if (isApiPath(request.routeOptions.url ?? request.url)) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
}

function isApiPath(url: string): boolean {
  const pathname = url.split('?')[0] ?? '';
  return pathname === API_PREFIX || pathname.startsWith(`${API_PREFIX}/`);
}
