import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SUPER_TENANT_DOMAIN, SUPER_TENANT_ID } from '../../home/layout.js';
import { parseBasicAuth } from '../../identity/basic-credentials.js';
import { contentTypeFor } from '../../webapps/content-types.js';
import type { DeployedApp, Deployer, TenantDirectory } from '../../webapps/deployer.js';
import { type RequestedPath, requestedPath, resolveStaticFile } from '../../webapps/static-files.js';

/**
 * Checks a user name, as typed inside the tenant (`alice`, `SECONDARY/alice`), and a password against
 * the tenant's user stores; `undefined` for any failure.
 */
export type Authenticator = (
  tenantDomain: string,
  username: string,
  password: string,
) => Promise<{ username: string; roles: string[] } | undefined>;

export interface WebappsOptions {
  deployer: Deployer;
  tenants: TenantDirectory;
  authenticate: Authenticator;
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
 * Tenant apps are served on the console's origin, so each of their pages is put in a sandbox without
 * `allow-same-origin`: its scripts run in an opaque origin and cannot read the console's storage, cookies
 * or API answers as a same-origin page could.
 */
export const WEBAPP_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-downloads';

/**
 * Serves deployed web applications. The routes are parametric (`/:app/*`, `/t/:domain/:app/*`), and
 * the router prefers static routes, so `/api/v1/…`, `/healthz`, `/console/…` and the like registered
 * by other plugins keep winning whatever the registration order.
 */
export async function registerWebapps(app: FastifyInstance, options: WebappsOptions): Promise<void> {
  const serve = webappHandler(options);
  const superTenant: Mount = { domain: undefined, prefixSegments: 1 };
  // GET and HEAD in one route: Fastify's automatic HEAD route would run the GET handler and open (and
  // drain) the file only to throw the body away.
  for (const url of ['/:app', '/:app/*']) {
    app.route<{ Params: AppRouteParams }>({
      method: ['GET', 'HEAD'],
      url,
      handler: (request, reply) => serve(request, reply, superTenant),
    });
  }
  for (const url of ['/t/:domain/:app', '/t/:domain/:app/*']) {
    app.route<{ Params: AppRouteParams }>({
      method: ['GET', 'HEAD'],
      url,
      handler: (request, reply) =>
        serve(request, reply, { domain: request.params.domain, prefixSegments: 3 }),
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

function webappHandler({ deployer, tenants, authenticate }: WebappsOptions) {
  return async (
    request: FastifyRequest<{ Params: AppRouteParams }>,
    reply: FastifyReply,
    mount: Mount,
  ): Promise<FastifyReply> => {
    const tenantId = mount.domain === undefined ? SUPER_TENANT_ID : await tenants.idOf(mount.domain);
    if (tenantId === undefined) return notFound(reply);
    const deployed = deployer.app(tenantId, request.params.app);
    // A node app's folder is its code (and perhaps secrets beside it): never files to hand out. Its
    // requests belong to the app proxy; here it is as good as absent.
    if (deployed?.config.runtime !== 'static') return notFound(reply);
    const requested = requestedPath(request.raw.url ?? request.url, mount.prefixSegments);
    if (!requested) return notFound(reply);
    reply.header('content-security-policy', WEBAPP_CSP);

    if (deployed.config.login) {
      const domain = mount.domain ?? (await tenants.domainOf(SUPER_TENANT_ID)) ?? SUPER_TENANT_DOMAIN;
      const credentials = parseBasicAuth(request.headers.authorization);
      const user = credentials && (await authenticate(domain, credentials.name, credentials.password));
      if (!user) {
        request.log.debug({ tenant: tenantId, app: deployed.name }, 'webapp login required');
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
