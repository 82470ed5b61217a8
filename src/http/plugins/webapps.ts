import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SUPER_TENANT_DOMAIN, SUPER_TENANT_ID } from '../../home/layout.js';
import type { AppSessions } from '../../identity/app-sessions.js';
import { parseBasicAuth } from '../../identity/basic-credentials.js';
import { displayName } from '../../userstores/names.js';
import { contentTypeFor } from '../../webapps/content-types.js';
import type { DeployedApp, Deployer, TenantDirectory } from '../../webapps/deployer.js';
import type { AppConfig } from '../../webapps/runtime/contract.js';
import { type RequestedPath, requestedPath, resolveStaticFile } from '../../webapps/static-files.js';
import type { NodeAppRequest } from './app-proxy/admission.js';
import { methodNotAllowed, sendAnswer } from './app-proxy/answers.js';
import { type AppUser, appUser } from './app-proxy/headers.js';
import { UpgradeTunnels } from './app-proxy/upgrade.js';
import { AppProxy, type NodeAppsOptions } from './app-proxy.js';
import { sessionOf, wantsSignInPage } from './app-signin/gate.js';
import { signInLocation, signInScope } from './app-signin/scope.js';
import { WEBAPP_CSP } from './webapp-sandbox.js';

export { WEBAPP_CSP };

/**
 * Checks a user name, as typed inside the tenant (`alice`, `SECONDARY/alice`), and a password against
 * the tenant's user stores; `undefined` for any failure. `address` is the client's, counted for the
 * login lockout; a locked login throws TOO_MANY_ATTEMPTS (README, Login lockout).
 */
export type Authenticator = (
  tenantDomain: string,
  username: string,
  password: string,
  address: string,
  /** The app asking, for the audit trail. */
  appName: string,
) => Promise<AuthenticatedUser | undefined>;

export interface AuthenticatedUser {
  /** The name inside the tenant, store prefix included (`SECONDARY/alice`); a trailing `@tenant` is dropped. */
  username: string;
  roles: string[];
  /** The user's store (`PRIMARY`, `SECONDARY`); read from `username`'s prefix when absent. */
  store?: string;
}

export interface WebappsOptions {
  deployer: Deployer;
  tenants: TenantDirectory;
  authenticate: Authenticator;
  /**
   * App sessions (README, Signing in to apps): with them a `login = true` app takes the session cookie and
   * sends a browser without one to the sign-in page; without them only HTTP Basic is asked.
   */
  sessions?: AppSessions;
  /** Serves `runtime = "node"` apps through their processes; without it every app is static files. */
  nodeApps?: NodeAppsOptions;
}

interface AppRouteParams {
  app: string;
  domain?: string;
}

/** Where an app is mounted: the super tenant's at `/{app}`, a tenant's at `/t/{domain}/{app}`. */
interface Mount {
  /** Tenant domain from the URL; `undefined` for the super tenant. */
  domain: string | undefined;
  /** How many path segments precede what is below the app. */
  prefixSegments: number;
}

/**
 * Serves deployed web applications. The routes are parametric (`/:app/*`, `/t/:domain/:app/*`), and
 * the router prefers static routes, so `/api/v1/…`, `/healthz`, `/console/…` and the like registered
 * by other plugins keep winning whatever the registration order. They take every method: a node app
 * answers what it likes, a static app GET and HEAD (405 otherwise).
 */
export async function registerWebapps(app: FastifyInstance, options: WebappsOptions): Promise<void> {
  const proxy = options.nodeApps && new AppProxy(options.nodeApps);
  const serve = webappHandler(options, proxy);
  const superTenant: Mount = { domain: undefined, prefixSegments: 1 };
  // In their own context, so that the parsers below leave `/api/v1`'s alone.
  await app.register(async (scope) => {
    // A node app's body goes to the app as it arrives: no parser reads it, whatever its type, and no
    // Fastify body limit applies (the app's `max_body_mb` does, in app-proxy.ts).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    // GET and HEAD in one route: Fastify's automatic HEAD route would run the GET handler and open (and
    // drain) a static file only to throw the body away.
    for (const url of ['/:app', '/:app/*']) {
      scope.route<{ Params: AppRouteParams }>({
        method: scope.supportedMethods,
        url,
        handler: (request, reply) => serve(request, reply, superTenant),
      });
    }
    for (const url of ['/t/:domain/:app', '/t/:domain/:app/*']) {
      scope.route<{ Params: AppRouteParams }>({
        method: scope.supportedMethods,
        url,
        handler: (request, reply) =>
          serve(request, reply, { domain: request.params.domain, prefixSegments: 3 }),
      });
    }
  });
  if (proxy) {
    const tunnels = new UpgradeTunnels(app.server, proxy.apps, upgradeTarget(options), app.log);
    app.server.on('upgrade', tunnels.listener);
    app.addHook('onClose', async () => {
      app.server.off('upgrade', tunnels.listener);
      tunnels.closeAll();
    });
  }
}

/**
 * The same as `registerWebapps`, as a plugin. `skip-override` keeps Fastify from encapsulating it, so
 * its routes sit at the root of the instance it is registered on.
 */
export const webappsPlugin: FastifyPluginAsync<WebappsOptions> = Object.assign(
  (app: FastifyInstance, options: WebappsOptions) => registerWebapps(app, options),
  { [Symbol.for('skip-override')]: true },
);

function webappHandler(options: WebappsOptions, proxy: AppProxy | undefined) {
  const { tenants } = options;
  return async (
    request: FastifyRequest<{ Params: AppRouteParams }>,
    reply: FastifyReply,
    mount: Mount,
  ): Promise<FastifyReply> => {
    const found = await findApp(options, mount, request.params.app);
    if (!found) return notFound(reply);
    const { tenantId, deployed, config } = found;
    if (config.runtime === 'node') {
      // Without the runtime (tests of static serving) a node app is as good as absent: its folder is its
      // code, perhaps with secrets beside it, never files to hand out.
      if (!proxy) return notFound(reply);
      return proxy.handle(request, reply, await nodeAppRequest(options, found, mount, request.raw));
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendAnswer(request, reply, methodNotAllowed(request.method));
    }
    const requested = requestedPath(request.raw.url ?? request.url, mount.prefixSegments);
    if (!requested) return notFound(reply);
    reply.header('content-security-policy', WEBAPP_CSP);

    if (config.login) {
      const domain = await tenantDomainOf(tenants, mount);
      const user = await signIn(options, tenantId, domain, deployed.name, request.raw.headers, request.ip);
      if (!user) {
        request.log.debug({ tenant: tenantId, app: deployed.name }, 'webapp login required');
        if (options.sessions && wantsSignInPage(request.method, request.headers))
          return reply
            .header('cache-control', 'no-store')
            .redirect(signInLocation(signInScope(mount.domain), request.raw.url ?? '/'), 303);
        return reply
          .code(401)
          .header('www-authenticate', `Basic realm="${deployed.name}"`)
          .type('text/plain; charset=utf-8')
          .send('Authentication required\n');
      }
      // Per-user content: shared caches must not keep it.
      reply.header('cache-control', 'private');
    }

    const base = appBase(mount, deployed);
    if (!requested.belowApp) return reply.redirect(`${base}/${requested.query}`, 301);

    let target = await resolveStaticFile(deployed.root, requested.segments);
    if (target.kind === 'directory') {
      if (!requested.endsWithSlash)
        return reply.redirect(`${folderLocation(base, requested)}${requested.query}`, 301);
      target = await resolveStaticFile(deployed.root, [...requested.segments, 'index.html']);
    }
    if (target.kind !== 'file') return notFound(reply);

    reply
      .header('content-type', contentTypeFor(target.path))
      .header('content-length', target.size)
      .header('last-modified', target.modified.toUTCString())
      .header('x-content-type-options', 'nosniff');
    if (request.method === 'HEAD') return reply.send();
    return reply.send(createReadStream(target.path));
  };
}

interface FoundApp {
  tenantId: number;
  deployed: DeployedApp;
  config: AppConfig;
}

async function findApp(options: WebappsOptions, mount: Mount, name: string): Promise<FoundApp | undefined> {
  const { tenants, deployer } = options;
  const tenantId = mount.domain === undefined ? SUPER_TENANT_ID : await tenants.idOf(mount.domain);
  if (tenantId === undefined) return undefined;
  const deployed = deployer.app(tenantId, name);
  if (!deployed) return undefined;
  return { tenantId, deployed, config: deployed.config };
}

async function tenantDomainOf(tenants: TenantDirectory, mount: Mount): Promise<string> {
  return mount.domain ?? (await superTenantDomainOf(tenants));
}

/**
 * The super tenant's domain, asked once per directory: every request to a super tenant's app needs it, the
 * question was a database query each time (a fifth of the front's CPU for a hello-world app), and a
 * tenant's domain never changes (only `active` is ever updated, and the super tenant is always active).
 */
const superTenantDomains = new WeakMap<TenantDirectory, string>();

async function superTenantDomainOf(tenants: TenantDirectory): Promise<string> {
  const known = superTenantDomains.get(tenants);
  if (known !== undefined) return known;
  const domain = await tenants.domainOf(SUPER_TENANT_ID);
  if (domain === undefined) return SUPER_TENANT_DOMAIN;
  superTenantDomains.set(tenants, domain);
  return domain;
}

/** What the front needs to decide a request to a node app, for a plain request and an upgrade alike. */
async function nodeAppRequest(
  options: WebappsOptions,
  found: FoundApp,
  mount: Mount,
  raw: IncomingMessage,
): Promise<NodeAppRequest> {
  const tenantDomain = await tenantDomainOf(options.tenants, mount);
  return {
    tenantId: found.tenantId,
    tenantDomain,
    name: found.deployed.name,
    config: found.config,
    mount: appBase(mount, found.deployed),
    prefixSegments: mount.prefixSegments,
    rawUrl: raw.url ?? '/',
    upgrade: false,
    signInRedirect:
      options.sessions && wantsSignInPage(raw.method ?? '', raw.headers)
        ? signInLocation(signInScope(mount.domain), raw.url ?? '/')
        : undefined,
    // The socket's peer, as `request.ip` is without a trusted proxy; an upgrade has no Fastify request.
    signIn: () =>
      signIn(
        options,
        found.tenantId,
        tenantDomain,
        found.deployed.name,
        raw.headers,
        raw.socket.remoteAddress ?? '',
      ),
  };
}

/**
 * The request's user: HTTP Basic when it sends `Authorization` (API clients, scripts), else the app
 * session its cookie names, when sessions are on; `undefined` when neither names a user of the tenant.
 */
async function signIn(
  options: WebappsOptions,
  tenantId: number,
  tenantDomain: string,
  appName: string,
  headers: IncomingMessage['headers'],
  address: string,
): Promise<AppUser | undefined> {
  if (headers.authorization === undefined && options.sessions) {
    const session = await sessionOf(options.sessions, tenantId, headers.cookie);
    if (!session) return undefined;
    const { user } = session;
    return appUser(displayName(user.store, user.username), user.roles, user.store);
  }
  const credentials = parseBasicAuth(headers.authorization);
  const user =
    credentials &&
    (await options.authenticate(tenantDomain, credentials.name, credentials.password, address, appName));
  if (!user) return undefined;
  const suffix = `@${tenantDomain}`;
  const name = user.username.endsWith(suffix) ? user.username.slice(0, -suffix.length) : user.username;
  return appUser(name, user.roles, user.store);
}

/**
 * The node app an upgrade's URL names, found as the router and `findApp` find a plain request's: the
 * super tenant's at `/{app}`, a tenant's at `/t/{domain}/{app}`; `undefined` for anything else.
 */
function upgradeTarget(options: WebappsOptions) {
  return async (request: IncomingMessage): Promise<NodeAppRequest | undefined> => {
    const segments = (request.url ?? '/').split('?')[0]?.split('/') ?? [];
    const tenantApp = segments[1] === 't' && segments.length >= 4;
    let mount: Mount;
    let name: string;
    try {
      mount = tenantApp
        ? { domain: decodeURIComponent(segments[2] ?? ''), prefixSegments: 3 }
        : { domain: undefined, prefixSegments: 1 };
      name = decodeURIComponent(segments[tenantApp ? 3 : 1] ?? '');
    } catch {
      return undefined;
    }
    const found = await findApp(options, mount, name);
    if (found?.config.runtime !== 'node') return undefined;
    return nodeAppRequest(options, found, mount, request);
  };
}

/** The server's own 404 (whatever not-found handler it has), for anything not served. */
function notFound(reply: FastifyReply): FastifyReply {
  reply.callNotFound();
  return reply;
}

/** The app's URL without the trailing slash, rebuilt from checked parts rather than echoed from the request. */
function appBase(mount: Mount, deployed: DeployedApp): string {
  const appSegment = encodeURIComponent(deployed.name);
  return mount.domain === undefined
    ? `/${appSegment}`
    : `/t/${encodeURIComponent(mount.domain)}/${appSegment}`;
}

function folderLocation(base: string, requested: RequestedPath): string {
  return `${base}/${requested.segments.map(encodeURIComponent).join('/')}/`;
}
