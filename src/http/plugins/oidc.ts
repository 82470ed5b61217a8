import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails, InteractionResults } from 'oidc-provider';
import { isTesseraError } from '../../errors.js';
import { SUPER_TENANT_DOMAIN } from '../../home/layout.js';
import {
  formToken,
  formTokenMatches,
  grantConsent,
  passwordPassed,
} from '../../identity/oidc/interaction.js';
import { consentPage, errorPage, signInPage } from '../../identity/oidc/pages.js';
import { inRequestScope } from '../../identity/oidc/request-scope.js';
import { issuerPath, type OidcTenant } from '../../identity/oidc/service.js';
import type { ServerContext } from '../context.js';

/** The interaction pages' policy: no script, no framing (a sign-in form is what clickjacking aims at). */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

interface IssuerParams {
  domain?: string;
  uid?: string;
}

type IssuerRequest = FastifyRequest<{ Params: IssuerParams; Body: Record<string, string> | undefined }>;

/**
 * Every tenant's OpenID Connect issuer (README, OpenID Connect): `/t/{domain}/oidc/...` and the super tenant's
 * `/oidc/...`. oidc-provider (a Koa app) answers everything but the interaction pages, given the raw request
 * with its body unread; the sign-in and consent pages are routes of this plugin. Static `oidc` segments win
 * over the webapps' `/:app` routes, and `oidc` is a reserved app name.
 */
export async function registerOidc(app: FastifyInstance, context: ServerContext): Promise<void> {
  const oidc = context.oidc;
  const publicUrl = () => context.config.server.publicUrl ?? listenUrl(app.server.address());

  /** The tenant named by the path, active, and its provider; `undefined` answers 404. */
  async function resolve(request: IssuerRequest) {
    const domain = request.params.domain ?? SUPER_TENANT_DOMAIN;
    const tenant = await context.tenants.get(domain.toLowerCase());
    if (!tenant?.active) return undefined;
    const issuer = new URL(`${publicUrl()}${issuerPath(tenant.domain)}`);
    const provider = await oidc.provider({ id: tenant.id, domain: tenant.domain }, issuer.href);
    return { tenant: { id: tenant.id, domain: tenant.domain } satisfies OidcTenant, issuer, provider };
  }

  const notFound = (reply: FastifyReply) =>
    reply.status(404).send({ error: 'NOT_FOUND', message: 'No such OpenID Connect issuer.' });

  // The provider's own endpoints, bodies unread (it parses them itself).
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const handler = async (request: IssuerRequest, reply: FastifyReply) => {
      const found = await resolve(request);
      if (!found) return notFound(reply);
      asIssuerRequest(request.raw, found.issuer, request.params.domain === undefined ? 1 : 3);
      reply.hijack();
      await inRequestScope({ address: request.ip, response: reply.raw }, () =>
        found.provider.callback()(request.raw, reply.raw),
      );
    };
    for (const url of ['/oidc', '/oidc/*', '/t/:domain/oidc', '/t/:domain/oidc/*'])
      scope.route<{ Params: IssuerParams; Body: Record<string, string> | undefined }>({
        method: ['GET', 'POST', 'OPTIONS', 'HEAD'],
        url,
        handler,
      });
  });

  // The interaction pages: forms posted as application/x-www-form-urlencoded.
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    for (const prefix of ['/oidc', '/t/:domain/oidc']) {
      scope.get(`${prefix}/interaction/:uid`, (request: IssuerRequest, reply) =>
        interactionStep(request, reply, 'show'),
      );
      scope.post(`${prefix}/interaction/:uid/login`, (request: IssuerRequest, reply) =>
        interactionStep(request, reply, 'login'),
      );
      scope.post(`${prefix}/interaction/:uid/consent`, (request: IssuerRequest, reply) =>
        interactionStep(request, reply, 'consent'),
      );
    }
  });

  async function interactionStep(
    request: IssuerRequest,
    reply: FastifyReply,
    step: 'show' | 'login' | 'consent',
  ) {
    const found = await resolve(request);
    if (!found) return notFound(reply);
    const { tenant, issuer, provider } = found;
    reply.header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store');
    asIssuerRequest(request.raw, found.issuer, request.params.domain === undefined ? 1 : 3);
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(request.raw, reply.raw);
    } catch {
      return page(
        reply,
        400,
        errorPage('Sign-in expired', { error: 'This sign-in has expired: start again.' }),
      );
    }
    if (details.uid !== request.params.uid)
      return page(
        reply,
        400,
        errorPage('Sign-in expired', { error: 'This sign-in has expired: start again.' }),
      );
    const secret = await oidc.cookieSecret(tenant.id);
    const csrf = formToken(secret, details.uid);
    const clientId = String(details.params.client_id ?? '');
    const client = await provider.Client.find(clientId);
    const clientName = client?.clientName ?? clientId;
    const action = `${issuer.pathname}/interaction/${details.uid}`;
    const finish = async (result: InteractionResults) => {
      const to = await provider.interactionResult(request.raw, reply.raw, result, {
        mergeWithLastSubmission: true,
      });
      return reply.status(303).header('location', to).send();
    };

    if (step !== 'show' && !formTokenMatches(secret, details.uid, request.body?.csrf))
      return page(
        reply,
        403,
        errorPage('Sign-in refused', { error: 'The form is not this sign-in’s: start again.' }),
      );

    if (details.prompt.name === 'login') {
      const signIn = (status: number, error?: string, username?: string) =>
        page(
          reply,
          status,
          signInPage({
            action: `${action}/login`,
            csrf,
            tenant: tenant.domain,
            client: clientName,
            error,
            username,
          }),
        );
      if (step !== 'login') return signIn(200);
      const username = String(request.body?.username ?? '');
      try {
        const principal = await context.authenticator.authenticateInTenant(tenant.domain, {
          name: username,
          password: String(request.body?.password ?? ''),
          address: request.ip,
          via: `oidc:${clientId}`,
        });
        if (!principal) return signIn(401, 'Invalid user name or password.', username);
        return finish(await passwordPassed(principal));
      } catch (error) {
        if (!isTesseraError(error)) throw error;
        if (error.retryAfterSeconds !== undefined)
          reply.header('retry-after', String(error.retryAfterSeconds));
        return signIn(error.httpStatus, error.message, username);
      }
    }

    if (details.prompt.name === 'consent') {
      if (client?.first_party === true || (step === 'consent' && request.body?.decision === 'allow'))
        return finish({ consent: { grantId: await grantConsent(provider, details) } });
      if (step === 'consent')
        return finish({ error: 'access_denied', error_description: 'The user denied the request.' });
      return page(
        reply,
        200,
        consentPage({
          action: `${action}/consent`,
          csrf,
          client: clientName,
          user: details.session?.accountId ?? '',
          scopes: [
            ...(details.prompt.details.missingOIDCScope ?? []),
            ...(details.prompt.details.missingOIDCClaims ?? []),
          ],
        }),
      );
    }
    return page(reply, 400, errorPage('Sign-in failed', { error: `Unknown step ${details.prompt.name}.` }));
  }
}

function page(reply: FastifyReply, status: number, html: string) {
  return reply.status(status).type('text/html; charset=utf-8').send(html);
}

/**
 * The request as the provider must see it: the path below the issuer (what Koa routes on), the issuer's
 * own path as `originalUrl` (what it builds URLs from), and the public URL's host and scheme, never the
 * client's `Host` or `X-Forwarded-*`, so that every URL it writes is the configured issuer's.
 */
function asIssuerRequest(
  raw: IncomingMessage & { originalUrl?: string },
  issuer: URL,
  prefixSegments: number,
): void {
  const url = raw.originalUrl ?? raw.url ?? '/';
  const [path = '', query] = splitQuery(url);
  const below = `/${path
    .split('/')
    .slice(prefixSegments + 1)
    .join('/')}`;
  const rest = (below === '/' ? '/' : below) + (query === undefined ? '' : `?${query}`);
  raw.originalUrl = `${issuer.pathname}${rest === '/' ? '' : rest}`;
  raw.url = rest;
  raw.headers.host = issuer.host;
  raw.headers['x-forwarded-proto'] = issuer.protocol.slice(0, -1);
  delete raw.headers['x-forwarded-host'];
  delete raw.headers['x-forwarded-for'];
  delete raw.headers.forwarded;
}

function splitQuery(url: string): [string, string | undefined] {
  const at = url.indexOf('?');
  return at === -1 ? [url, undefined] : [url.slice(0, at), url.slice(at + 1)];
}

/** The URL a node is reached at when `server.public_url` is unset: its listen address and port. */
function listenUrl(address: string | AddressInfo | null): string {
  if (address === null || typeof address === 'string') return 'http://localhost';
  const host =
    address.address === '0.0.0.0' || address.address === '::'
      ? 'localhost'
      : address.family === 'IPv6'
        ? `[${address.address}]`
        : address.address;
  return `http://${host}:${address.port}`;
}
