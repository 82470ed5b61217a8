import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { SUPER_TENANT_DOMAIN, SUPER_TENANT_ID } from '../home/layout.js';
import { SecondFactorRequired } from '../identity/authenticator.js';
import { idleSecondsFromEnvironment, SessionStore } from '../identity/sessions.js';
import { PACKAGE_VERSION } from '../package-root.js';
import { RecentLookups } from '../tenants/recent-lookups.js';
import type { ServerContext } from './context.js';
import { registerAppSignIn } from './plugins/app-signin/routes.js';
import { requireAdminAuth } from './plugins/authentication.js';
import { registerConsole } from './plugins/console.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerMaintenanceGate } from './plugins/maintenance.js';
import { registerOidc } from './plugins/oidc.js';
import { registerRequestLog } from './plugins/request-log.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { registerWebapps } from './plugins/webapps.js';
import { appSessionRoutes } from './routes/app-sessions.js';
import { auditRoutes } from './routes/audit.js';
import { auditRetentionRoutes } from './routes/audit-retention.js';
import { authenticateRoutes } from './routes/authenticate.js';
import { clusterRoutes } from './routes/cluster.js';
import { healthRoutes } from './routes/health.js';
import { lockoutRoutes } from './routes/lockouts.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import { oidcRoutes } from './routes/oidc.js';
import { passwordChangeRoutes } from './routes/password-change.js';
import { passwordPolicyRoutes } from './routes/password-policy.js';
import { registryRoutes } from './routes/registry.js';
import { roleRoutes } from './routes/roles.js';
import { secondFactorSettingsRoutes } from './routes/second-factor-settings.js';
import { sessionLoginRoutes, sessionRoutes } from './routes/sessions.js';
import { tenantRoutes } from './routes/tenants.js';
import { totpRoutes } from './routes/totp.js';
import { upgradeRoutes } from './routes/upgrade.js';
import { userRoutes } from './routes/users.js';
import { userStoreRoutes } from './routes/userstores.js';
import { webappRoutes } from './routes/webapps.js';

/**
 * How long an app request's tenant lookup is reused. Creations, deletions and (de)activations clear it on
 * every node through the bus; without Redis another node sees them this late (or at its follower's period).
 */
const TENANT_LOOKUP_TTL_MS = 1_000;

/** The Fastify application of one server: every concern a plugin, the admin API under `/api/v1`. */
export async function buildApp(context: ServerContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: context.logger as FastifyBaseLogger,
    bodyLimit: 8 * 1024 * 1024,
    // A stopping server must not wait on clients that keep a connection open (kept-alive, or a body never read).
    forceCloseConnections: true,
    // One line per request instead of two, at a level that says how it went: plugins/request-log.ts.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
  });

  registerErrorHandling(app);
  registerRequestLog(app);
  registerSecurityHeaders(app);
  registerMaintenanceGate(app, context.maintenance);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    context.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    context.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Tessera admin API', version: PACKAGE_VERSION },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ basic: [] }, { bearer: [] }],
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { context });
  await registerConsole(app);
  // Console sessions (Bearer tokens) live in this node's memory; see routes/sessions.ts.
  const sessions = new SessionStore(idleSecondsFromEnvironment(process.env.TESSERA_SESSION_IDLE_SECONDS));
  await app.register(
    async (api) => {
      await api.register(authenticateRoutes, { context });
      await api.register(sessionLoginRoutes, { context, sessions });
      await api.register(passwordChangeRoutes, { context, sessions });
      await api.register(async (admin) => {
        requireAdminAuth(admin, context, sessions);
        await admin.register(tenantRoutes, { context });
        await admin.register(passwordPolicyRoutes, { context });
        await admin.register(userStoreRoutes, { context });
        await admin.register(userRoutes, { context, sessions });
        await admin.register(roleRoutes, { context });
        await admin.register(clusterRoutes, { context });
        await admin.register(registryRoutes, { context });
        await admin.register(sessionRoutes, { sessions });
        await admin.register(webappRoutes, { context });
        await admin.register(upgradeRoutes, { context });
        await admin.register(maintenanceRoutes, { context });
        await admin.register(lockoutRoutes, { context });
        await admin.register(auditRoutes, { context });
        await admin.register(auditRetentionRoutes, { context });
        await admin.register(appSessionRoutes, { context });
        await admin.register(totpRoutes, { context, sessions });
        await admin.register(secondFactorSettingsRoutes, { context });
        await admin.register(oidcRoutes, { context });
      });
    },
    { prefix: '/api/v1' },
  );

  await registerOidc(app, context);
  // Every request to a tenant's app names the tenant: its row is read once a second at most, not per request.
  const activeTenantIds = new RecentLookups(async (domain: string) => {
    const tenant = await context.tenants.get(domain);
    return tenant?.active ? tenant.id : undefined;
  }, TENANT_LOOKUP_TTL_MS);
  context.bus.onMessage((message) => {
    if (message.kind === 'tenants') activeTenantIds.clear();
  });
  const appTenants = {
    domainOf: async (tenantId: number) => (await context.tenants.getById(tenantId))?.domain,
    idOf: (domain: string) => activeTenantIds.get(domain),
  };
  await registerAppSignIn(app, {
    tenants: appTenants,
    sessions: context.appSessions,
    superTenantDomain: async () => (await appTenants.domainOf(SUPER_TENANT_ID)) ?? SUPER_TENANT_DOMAIN,
    checkPassword: (tenantDomain, name, password, address) =>
      context.authenticator.authenticateInTenant(tenantDomain, {
        name,
        password,
        address,
        via: 'app-sign-in',
      }),
    checkCode: (principal, proof, address, passwordExpired) =>
      context.authenticator.completeSecondFactor(
        principal,
        proof,
        { name: principal.qualifiedName, address, via: 'app-sign-in' },
        passwordExpired,
      ),
    pendingSignIns: context.pendingSignIns,
  });
  await registerWebapps(app, {
    deployer: context.deployer,
    tenants: appTenants,
    sessions: context.appSessions,
    authenticate: async (tenantDomain, username, password, address, appName) => {
      // An app's Basic login has no room for a TOTP code: an account with an authenticator is refused here.
      const principal = await context.authenticator
        .authenticateInTenant(tenantDomain, { name: username, password, address, via: `app:${appName}` })
        .catch((error: unknown) => {
          if (error instanceof SecondFactorRequired) return undefined;
          throw error;
        });
      return (
        principal && { username: principal.qualifiedName, roles: principal.roles, store: principal.store }
      );
    },
    ...(context.apps ? { nodeApps: { apps: context.apps, metrics: context.appMetrics } } : {}),
  });
  return app;
}
