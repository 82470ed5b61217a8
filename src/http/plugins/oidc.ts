import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Provider } from 'oidc-provider';
import { SUPER_TENANT_DOMAIN } from '../../home/layout.js';
import { inRequestScope } from '../../identity/oidc/request-scope.js';
import { issuerPath, type OidcTenant } from '../../identity/oidc/service.js';
import type { ServerContext } from '../context.js';
import { type InteractionRequest, interactionStep } from './oidc/interaction-step.js';
import { asIssuerRequest, listenUrl } from './oidc/issuer-request.js';

/**
 * Every tenant's OpenID Connect issuer (README, OpenID Connect): `/t/{domain}/oidc/...` and the super tenant's
 * `/oidc/...`. oidc-provider (a Koa app) answers everything but the interaction pages, given the raw request
 * with its body unread; the sign-in and consent pages are routes of this plugin (oidc/interaction-step.ts).
 * Static `oidc` segments win over the webapps' `/:app` routes, and `oidc` is a reserved app name.
 */
export async function registerOidc(app: FastifyInstance, context: ServerContext): Promise<void> {
  const oidc = context.oidc;
  const publicUrl = () => context.config.server.publicUrl ?? listenUrl(app.server.address());
  // Koa composes its middleware in each callback(): one per provider instance, not one per request.
  const callbacks = new WeakMap<Provider, ReturnType<Provider['callback']>>();

  /** The tenant named by the path, active, and its provider; `undefined` answers 404. */
  async function resolve(request: InteractionRequest) {
    const domain = request.params.domain ?? SUPER_TENANT_DOMAIN;
    const tenant = await context.tenants.get(domain.toLowerCase());
    if (!tenant?.active) return undefined;
    const issuer = new URL(`${publicUrl()}${issuerPath(tenant.domain)}`);
    const found: OidcTenant = { id: tenant.id, domain: tenant.domain };
    return { tenant: found, issuer, provider: await oidc.provider(found, issuer.href) };
  }

  const notFound = (reply: FastifyReply) =>
    reply.status(404).send({ error: 'NOT_FOUND', message: 'No such OpenID Connect issuer.' });

  // The provider's own endpoints, bodies unread (it parses them itself).
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const handler = async (request: InteractionRequest, reply: FastifyReply) => {
      const found = await resolve(request);
      if (!found) return notFound(reply);
      asIssuerRequest(request.raw, found.issuer, request.params.domain === undefined ? 1 : 3);
      let callback = callbacks.get(found.provider);
      if (!callback) {
        callback = found.provider.callback();
        callbacks.set(found.provider, callback);
      }
      const answer = callback;
      reply.hijack();
      await inRequestScope({ address: request.ip, response: reply.raw }, () =>
        answer(request.raw, reply.raw),
      );
    };
    for (const url of ['/oidc', '/oidc/*', '/t/:domain/oidc', '/t/:domain/oidc/*'])
      scope.route({ method: ['GET', 'POST', 'OPTIONS', 'HEAD'], url, handler });
  });

  // The interaction pages: forms posted as application/x-www-form-urlencoded.
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    const step =
      (name: 'show' | 'login' | 'code' | 'consent') =>
      async (request: InteractionRequest, reply: FastifyReply) => {
        const found = await resolve(request);
        if (!found) return notFound(reply);
        const cookieSecret = await oidc.cookieSecret(found.tenant.id);
        return interactionStep(request, reply, name, {
          ...found,
          cookieSecret,
          authenticator: context.authenticator,
          pendingSignIns: context.pendingSignIns,
        });
      };
    for (const prefix of ['/oidc', '/t/:domain/oidc']) {
      scope.get(`${prefix}/interaction/:uid`, step('show'));
      scope.post(`${prefix}/interaction/:uid/login`, step('login'));
      scope.post(`${prefix}/interaction/:uid/code`, step('code'));
      scope.post(`${prefix}/interaction/:uid/consent`, step('consent'));
    }
  });
}
