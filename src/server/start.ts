import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { openClusterCache } from '../cache/cluster-cache.js';
import { ClusterMembership } from '../cluster/nodes.js';
import { loadConfigFile, parseConfig } from '../config/load.js';
import { defaultConfigText, type LogLevel } from '../config/schema.js';
import { openDatabase } from '../db/connection.js';
import type { DatabaseTarget } from '../db/url.js';
import { TesseraError } from '../errors.js';
import { homeLayout } from '../home/layout.js';
import { NodeLock } from '../home/node-lock.js';
import { buildApp } from '../http/app.js';
import type { ServerContext } from '../http/context.js';
import { AuditLog } from '../identity/audit-log.js';
import { Authenticator } from '../identity/authenticator.js';
import { openNodeMaintenance } from '../maintenance/node.js';
import { Registry } from '../registry/registry.js';
import { assertStartable, inspectSchema } from '../releases/guard.js';
import { CURRENT_RELEASE } from '../releases/matrix.js';
import { createLogger } from '../telemetry/logger.js';
import { ServerMetrics } from '../telemetry/metrics.js';
import { TenantLifecycle } from '../tenants/lifecycle.js';
import { recordFirstServing } from '../upgrade/first-serving.js';
import { SharedStoreDefinitions } from '../userstores/caching/shared-definitions.js';
import { storeSharing } from '../userstores/caching/store-sharing.js';
import { UserStoreManager } from '../userstores/manager.js';
import { applyBackupRetention } from '../webapps/backup-retention.js';
import { Deployer } from '../webapps/deployer.js';
import { quotasFromConfig } from '../webapps/quotas.js';
import { createFirstDatabase, layOutHome, writeDefaultConfig } from './first-start.js';
import { assertPortAvailable, type PortSource, portInUse } from './port-check.js';

export interface StartOptions {
  home: string;
  /** Overrides `PORT` and `server.port`; 0 picks a free port. */
  port?: number;
  host?: string;
  /** The super tenant admin's password on a first start (else `TESSERA_ADMIN_PASSWORD`, else generated). */
  adminPassword?: string;
  logLevel?: LogLevel;
  /** Log to stdout as well as `logs/tessera.log` (default true). */
  stdoutLogs?: boolean;
  /** Called once with a generated admin password on a first start, to show it to the operator. */
  onGeneratedPassword?: (password: string) => void;
  /**
   * Remove `cluster_nodes` rows of nodes silent for 100 heartbeat periods on start. Default: yes, unless the
   * home is the new home of an upgrade still underway (the smoke test compares row counts).
   */
  pruneGoneNodes?: boolean;
  /**
   * Secondary JDBC store databases this server may read but must never write, whatever the store files
   * say: opened read-only by the engine, their stores refuse writes and re-hash no legacy password. An
   * upgrade's smoke test passes the store databases the old home still uses.
   */
  readOnlyStoreDatabases?: readonly DatabaseTarget[];
}

export interface RunningServer {
  app: FastifyInstance;
  context: ServerContext;
  port: number;
  url: string;
  firstStart: boolean;
  close(): Promise<void>;
}

export function portFromEnvironment(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TesseraError('BAD_USAGE', `PORT="${value}" is not a port number.`, {
      hint: 'Set PORT to a number from 1 to 65535.',
    });
  }
  return port;
}

/** Starts a server on a home, laying the home out on a first start (README, Command line: `tessera start`). */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const layout = homeLayout(options.home);
  const firstStart = !existsSync(layout.configFile);
  // The config is read and the port checked before anything is written, opened or deployed: a start refused
  // for either leaves the home as it was (a first start's config is the default one it is about to write).
  const config = firstStart
    ? parseConfig(defaultConfigText(), layout.configFile)
    : loadConfigFile(layout.configFile);
  const environmentPort = portFromEnvironment(process.env.PORT);
  const port = options.port ?? environmentPort ?? config.server.port;
  const portSource: PortSource =
    options.port !== undefined ? 'option' : environmentPort !== undefined ? 'PORT' : 'server.port';
  const host = options.host ?? config.server.host;
  await assertPortAvailable(port, host, portSource);
  layOutHome(layout);
  if (firstStart) writeDefaultConfig(layout);
  const { logger, close: closeLogger } = createLogger({
    level: options.logLevel ?? config.logging.level,
    logsFolder: layout.logs,
    stdout: options.stdoutLogs ?? true,
  });

  // Held from before the database is opened until after the node's row is gone, so that export, import
  // and the upgrade see this node for as long as it can touch the home or the database.
  const lock = NodeLock.acquire(layout);
  const database = await openDatabase(config.database.url, layout.root, {
    poolSize: config.database.poolSize,
  }).catch(async (error: unknown) => {
    lock.release();
    await closeLogger();
    throw error;
  });
  const closers: (() => Promise<void>)[] = [async () => lock.release(), () => database.close()];
  const closeAll = async () => {
    for (const close of closers.reverse())
      await close().catch((error) => logger.error({ err: error }, 'close failed'));
    await closeLogger();
  };
  try {
    const state = await inspectSchema(database);
    assertStartable(state, database.label);
    if (state.status === 'empty') {
      await createFirstDatabase(database, options);
      logger.info(
        { database: database.label },
        'created the database at the current release and the super tenant admin',
      );
    }

    const metrics = new ServerMetrics();
    const cluster = await openClusterCache({
      redisUrl: config.cache.redis,
      databaseLabel: database.label,
      logger,
      metrics: metrics.prometheus,
    });
    closers.push(() => cluster.close());
    // Read before anything is served or deployed: a node restarted in maintenance refuses writes at once.
    const maintenance = await openNodeMaintenance({
      db: database.db,
      bus: cluster.bus,
      logger,
      periodMs: config.cluster.heartbeatSeconds * 1000,
      metrics: metrics.prometheus,
    });
    closers.push(() => maintenance.close());
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
      readOnlyDatabases: options.readOnlyStoreDatabases,
      tenantDomain,
      connectTimeoutMs: config.userstores?.connectTimeoutMs,
      loginWritesSkipped: inMaintenance,
    });
    closers.push(() => stores.close());
    // Another node changed a tenant's store definitions: read them now rather than at the next rescan.
    cluster.bus.onMessage((message) => {
      if (message.kind !== 'stores') return;
      stores.rescan(message.tenantId, { dueOnly: true }).catch((error: unknown) => {
        logger.debug({ tenantId: message.tenantId, reason: String(error) }, 'store rescan on message failed');
      });
    });
    const deployer = new Deployer({
      layout,
      logger,
      hotDeploy: config.deployment.hotDeploy,
      quotas: quotasFromConfig(config.deployment),
      tenantDomain,
      hotDeployHeld: inMaintenance,
    });
    closers.push(() => deployer.close());
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
    closers.push(() => lifecycle.stop());
    const tenants = lifecycle.tenants;
    // Uploads and undeploys prune backups/; this applies the age limit to what earlier runs left.
    await applyBackupRetention(layout.backups, config.deployment, logger);
    // A mount that cannot be reached is logged; only paths under it fail, with STORE_UNAVAILABLE.
    const registry = await Registry.open({
      database,
      mounts: config.registry?.mounts ?? [],
      home: layout.root,
      logger,
    });
    closers.push(() => registry.close());

    const context: ServerContext = {
      config,
      layout,
      database,
      logger,
      tenants,
      stores,
      deployer,
      registry,
      authenticator: new Authenticator(tenants, stores),
      audit: new AuditLog(database.db, logger),
      metrics,
      cache: cluster.cache,
      bus: cluster.bus,
      maintenance: maintenance.mode,
    };
    const app = await buildApp(context);
    closers.push(() => app.close());
    try {
      await app.listen({ port, host });
    } catch (error) {
      // Taken since the check at the start.
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portInUse(port, portSource);
      throw error;
    }
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address ? address.port : port;
    const node = new ClusterMembership({
      db: database.db,
      logger,
      heartbeatSeconds: config.cluster.heartbeatSeconds,
      port: boundPort,
      prune: options.pruneGoneNodes ?? true,
    });
    lock.identify({ nodeId: node.nodeId, host: node.host, port: node.port });
    await node.start();
    closers.push(() => node.stop());
    await maintenance.attachNode(node.nodeId);
    // Listening and registered: this node serves. On the new home of an upgrade, the first node to get
    // here after promote ends the upgrade's outage, and records so itself.
    const firstServing = recordFirstServing(layout.root, database.target, {
      nodeId: node.nodeId,
      release: CURRENT_RELEASE,
      servingAt: Date.now(),
    });
    if (firstServing)
      logger.info(firstServing, 'first node of the new release serving after the upgrade: the outage ended');
    logger.info({ port: boundPort, database: database.label, home: layout.root }, 'Tessera started');
    return {
      app,
      context,
      port: boundPort,
      url: `http://127.0.0.1:${boundPort}`,
      firstStart,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
