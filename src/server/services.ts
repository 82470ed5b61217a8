import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { openClusterCache } from '../cache/cluster-cache.js';
import type { TesseraConfig } from '../config/schema.js';
import type { Database } from '../db/connection.js';
import type { DatabaseTarget } from '../db/url.js';
import { appRunsFolder, type HomeLayout } from '../home/layout.js';
import { loadSecretsKey } from '../home/secrets-key.js';
import type { ServerContext } from '../http/context.js';
import { recheckInStores } from '../identity/app-session-recheck.js';
import {
  AppSessions,
  DEFAULT_APP_IDLE_SECONDS,
  DEFAULT_APP_MAX_SECONDS,
  secondsFromEnvironment,
} from '../identity/app-sessions.js';
import { AuditLog } from '../identity/audit-log.js';
import { AuditRetention } from '../identity/audit-retention.js';
import { Authenticator } from '../identity/authenticator.js';
import { IdentityHousekeeping } from '../identity/housekeeping.js';
import { LockoutSettings } from '../identity/lockout-settings.js';
import { LoginFailures } from '../identity/login-failures.js';
import { LoginGuard } from '../identity/login-guard.js';
import { OidcService } from '../identity/oidc/service.js';
import { PasswordAge } from '../identity/password-age.js';
import { PendingSignIns } from '../identity/pending-sign-in.js';
import { SecondFactor } from '../identity/second-factor.js';
import { SecondFactorSettings } from '../identity/totp/second-factor-settings.js';
import { SecretBox } from '../identity/totp/secret-box.js';
import { TotpStore } from '../identity/totp/totp-store.js';
import { type NodeMaintenance, openNodeMaintenance } from '../maintenance/node.js';
import { Registry } from '../registry/registry.js';
import { AppMetrics } from '../telemetry/app-metrics.js';
import { ServerMetrics } from '../telemetry/metrics.js';
import { TenantLifecycle } from '../tenants/lifecycle.js';
import { PasswordPolicies } from '../tenants/password-policy.js';
import { TenantSettings } from '../tenants/settings.js';
import { SharedStoreDefinitions } from '../userstores/caching/shared-definitions.js';
import { storeSharing } from '../userstores/caching/store-sharing.js';
import { UserStoreManager } from '../userstores/manager.js';
import { applyBackupRetention } from '../webapps/backup-retention.js';
import { Deployer } from '../webapps/deployer.js';
import { quotasFromConfig } from '../webapps/quotas.js';
import { AppRuntime } from '../webapps/runtime/app-runtime.js';
import { runtimeListener } from '../webapps/runtime/runtime-listener.js';
import { ClusterApps } from '../webapps/versions/cluster-apps.js';
import { AppVersionStore } from '../webapps/versions/version-store.js';
import type { Closers } from './closers.js';

export interface ServicesInput {
  config: TesseraConfig;
  layout: HomeLayout;
  database: Database;
  logger: Logger;
  /** Store databases to open read-only (StartOptions.readOnlyStoreDatabases). */
  readOnlyStoreDatabases?: readonly DatabaseTarget[];
}

export interface Services {
  context: ServerContext;
  /** This node's part in the maintenance mode: told the node's id once it is registered. */
  maintenance: NodeMaintenance;
}

/** How often a node compares its apps with the database without being told (as the tenant follower). */
const CLUSTER_APPS_INTERVAL_MS = 5_000;

/**
 * Opens what a node serves with, in dependency order, each added to `closers` as soon as it is open: the
 * shared cache and bus, the maintenance mode, the user stores, the deployer, the tenants they serve and the
 * registry. What the routes get is the returned context.
 */
export async function openServices(input: ServicesInput, closers: Closers): Promise<Services> {
  const { config, layout, database, logger } = input;
  const metrics = new ServerMetrics();
  const cluster = await openClusterCache({
    redisUrl: config.cache.redis,
    databaseLabel: database.label,
    logger,
    metrics: metrics.prometheus,
  });
  closers.add(() => cluster.close());
  // Read before anything is served or deployed: a node restarted in maintenance refuses writes at once.
  const maintenance = await openNodeMaintenance({
    db: database.db,
    bus: cluster.bus,
    logger,
    periodMs: config.cluster.heartbeatSeconds * 1000,
    metrics: metrics.prometheus,
  });
  closers.add(() => maintenance.close());
  // What would change the database or the deployment while in maintenance waits until it is off.
  const inMaintenance = () => maintenance.mode.on;
  const definitions = new SharedStoreDefinitions(database.db, cluster.bus, cluster.cache, logger, {
    publishingHeld: inMaintenance,
  });
  // For refusals to name a tenant by its domain; first called when stores and apps start, after `lifecycle`.
  const tenantDomain = async (tenantId: number) => (await lifecycle.tenants.getById(tenantId))?.domain;
  const stores = new UserStoreManager({
    database,
    layout,
    logger,
    hotLoad: config.deployment.hotDeploy,
    sharing: storeSharing(cluster.cache, definitions),
    readOnlyDatabases: input.readOnlyStoreDatabases,
    tenantDomain,
    connectTimeoutMs: config.userstores?.connectTimeoutMs,
    loginWritesSkipped: inMaintenance,
  });
  closers.add(() => stores.close());
  // Another node changed a tenant's store definitions: read them now rather than at the next rescan.
  cluster.bus.onMessage((message) => {
    if (message.kind !== 'stores') return;
    stores.rescan(message.tenantId, { dueOnly: true }).catch((error: unknown) => {
      logger.debug({ tenantId: message.tenantId, reason: String(error) }, 'store rescan on message failed');
    });
  });
  // Tenants' Node.js apps run in child processes, each started when the deployer deploys it. Closed after
  // the deployer (closers run in reverse), so no start arrives once the runtime has stopped every app.
  const appMetrics = new AppMetrics(metrics.prometheus);
  const apps = await AppRuntime.open({
    logsFolder: layout.logs,
    runsFolder: appRunsFolder(layout),
    logger,
    metrics: appMetrics,
  });
  const appsListener = runtimeListener(apps, tenantDomain, logger);
  closers.add(async () => {
    await appsListener.idle();
    await apps.close();
  });
  // The apps every node serves: versions stored in the database, mirrored into each node's webapps/.
  const clusterApps = new ClusterApps({
    store: new AppVersionStore(database.db, config.deployment.keepVersions),
    bus: cluster.bus,
    logger: logger.child({ component: 'cluster-apps' }),
    backups: layout.backups,
    nodeLabel: `webapps/ of ${hostname()}`,
    intervalMs: CLUSTER_APPS_INTERVAL_MS,
    writesHeld: inMaintenance,
  });
  const deployer = new Deployer({
    layout,
    logger,
    hotDeploy: config.deployment.hotDeploy,
    quotas: quotasFromConfig(config.deployment),
    tenantDomain,
    hotDeployHeld: inMaintenance,
    apps: appsListener,
    versions: clusterApps,
  });
  closers.add(() => deployer.close());
  const lifecycle: TenantLifecycle = new TenantLifecycle({
    db: database.db,
    layout,
    logger,
    stores,
    deployer,
    cache: cluster.cache,
    bus: cluster.bus,
    definitions,
  });
  await lifecycle.start();
  closers.add(() => lifecycle.stop());
  clusterApps.start((tenantId) => deployer.follow(tenantId));
  closers.add(() => clusterApps.stop());
  // Uploads and undeploys prune backups/; this applies the age limit to what earlier runs left.
  await applyBackupRetention(layout.backups, config.deployment, logger);
  // A mount that cannot be reached is logged; only paths under it fail, with STORE_UNAVAILABLE.
  const registry = await Registry.open({
    database,
    mounts: config.registry?.mounts ?? [],
    home: layout.root,
    logger,
  });
  closers.add(() => registry.close());

  const tenants = lifecycle.tenants;
  const settings = new TenantSettings(database.db);
  // Failed logins are counted in the database, so a lock holds on every node whatever Redis does.
  const loginFailures = new LoginFailures(database.db);
  const lockoutSettings = new LockoutSettings(settings, logger);
  const loginGuard = new LoginGuard(loginFailures, lockoutSettings);
  const audit = new AuditLog(database.db, logger);
  const passwordPolicies = new PasswordPolicies(settings);
  const auditRetention = new AuditRetention(settings, logger);
  // App sessions live in the database, so that a sign-in holds on every node (README, Signing in to apps).
  const appSessions = new AppSessions(database.db, recheckInStores(stores), {
    idleSeconds: secondsFromEnvironment(
      process.env.TESSERA_APP_SESSION_IDLE_SECONDS,
      DEFAULT_APP_IDLE_SECONDS,
    ),
    maxSeconds: secondsFromEnvironment(process.env.TESSERA_APP_SESSION_MAX_SECONDS, DEFAULT_APP_MAX_SECONDS),
  });
  // Every node runs it: its deletes are idempotent (README, Audit trail).
  const housekeeping = new IdentityHousekeeping({
    db: database.db,
    settings,
    retention: auditRetention,
    failures: loginFailures,
    appSessions,
    logger: logger.child({ component: 'identity-housekeeping' }),
    deleted: (table, rows) => metrics.housekeepingDeleted.inc({ table }, rows),
    held: inMaintenance,
  });
  housekeeping.start();
  closers.add(() => housekeeping.stop());
  // Sealed with the home's conf/secrets.key (made at the first start): TOTP keys and OpenID Connect private
  // keys, never kept plain in the database, and the pending two-step sign-ins browsers hold.
  const secrets = new SecretBox(loadSecretsKey(layout));
  const secondFactorSettings = new SecondFactorSettings(settings);
  const secondFactor = new SecondFactor(new TotpStore(database.db), secrets, secondFactorSettings);
  const oidc = new OidcService(database.db, stores, loginGuard, logger, secrets);
  oidc.startPruning();
  closers.add(async () => oidc.close());
  const context: ServerContext = {
    config,
    layout,
    database,
    logger,
    tenants,
    settings,
    passwordPolicies,
    stores,
    deployer,
    clusterApps,
    apps: appsListener,
    appMetrics,
    registry,
    authenticator: new Authenticator(
      tenants,
      stores,
      loginGuard,
      (outcome) => metrics.authentications.inc({ outcome }),
      audit,
      new PasswordAge(database.db, passwordPolicies),
      secondFactor,
    ),
    secondFactor,
    secondFactorSettings,
    // The sign-in pages' state between a password and its code, sealed so that any node takes the code.
    pendingSignIns: new PendingSignIns(secrets),
    lockout: { settings: lockoutSettings, failures: loginFailures },
    appSessions,
    audit,
    auditRetention,
    housekeeping,
    oidc,
    metrics,
    cache: cluster.cache,
    bus: cluster.bus,
    maintenance: maintenance.mode,
  };
  return { context, maintenance };
}
