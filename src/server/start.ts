import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ClusterMembership } from '../cluster/nodes.js';
import { loadConfigFile, parseConfig } from '../config/load.js';
import { defaultConfigText, type LogLevel, type TesseraConfig } from '../config/schema.js';
import { type Database, openDatabase } from '../db/connection.js';
import type { DatabaseTarget } from '../db/url.js';
import { TesseraError } from '../errors.js';
import { homeLayout } from '../home/layout.js';
import { NodeLock } from '../home/node-lock.js';
import { buildApp } from '../http/app.js';
import type { ServerContext } from '../http/context.js';
import { keepRequestGarbageYoung } from '../http/young-garbage.js';
import { assertStartable, inspectSchema } from '../releases/guard.js';
import { CURRENT_RELEASE } from '../releases/matrix.js';
import { createLogger } from '../telemetry/logger.js';
import { recordFirstServing } from '../upgrade/first-serving.js';
import { writeNodeReport } from '../webapps/node-report.js';
import { Closers } from './closers.js';
import { createFirstDatabase, layOutHome, writeDefaultConfig } from './first-start.js';
import { assertPortAvailable, type PortSource, portInUse } from './port-check.js';
import { openServices } from './services.js';

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
  const address = listenAddress(options, config);
  await assertPortAvailable(address.port, address.host, address.source);
  layOutHome(layout);
  if (firstStart) writeDefaultConfig(layout);
  const { logger, close: closeLogger } = createLogger({
    level: options.logLevel ?? config.logging.level,
    logsFolder: layout.logs,
    stdout: options.stdoutLogs ?? true,
  });
  const closers = new Closers(logger);
  closers.add(closeLogger);
  try {
    // Held from before the database is opened until after the node's row is gone, so that export, import
    // and the upgrade see this node for as long as it can touch the home or the database.
    const lock = NodeLock.acquire(layout);
    closers.add(async () => lock.release());
    const database = await openDatabase(config.database.url, layout.root, {
      poolSize: config.database.poolSize,
    });
    closers.add(() => database.close());
    await prepareDatabase(database, options, logger);
    const { context, maintenance } = await openServices(
      { config, layout, database, logger, readOnlyStoreDatabases: options.readOnlyStoreDatabases },
      closers,
    );
    // A setting of the whole process (V8's), made where the process becomes a server, not per app built.
    keepRequestGarbageYoung();
    const app = await buildApp(context);
    closers.add(() => app.close());
    const port = await listen(app, address);
    const node = new ClusterMembership({
      db: database.db,
      logger,
      heartbeatSeconds: config.cluster.heartbeatSeconds,
      port,
      prune: options.pruneGoneNodes ?? true,
      report: () => writeNodeReport(context.deployer.listAll(), context.apps),
    });
    lock.identify({ nodeId: node.nodeId, host: node.host, port: node.port });
    await node.start();
    closers.add(() => node.stop());
    await maintenance.attachNode(node.nodeId);
    announceServing(context, node.nodeId, port);
    return {
      app,
      context,
      port,
      url: `http://127.0.0.1:${port}`,
      firstStart,
      close: () => closers.closeAll(),
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}

interface ListenAddress {
  port: number;
  host: string;
  /** Where the port came from, for the message when it is taken. */
  source: PortSource;
}

/** The port from the option, else `PORT`, else `server.port`; the host from the option, else `server.host`. */
function listenAddress(options: StartOptions, config: TesseraConfig): ListenAddress {
  const environmentPort = portFromEnvironment(process.env.PORT);
  return {
    port: options.port ?? environmentPort ?? config.server.port,
    host: options.host ?? config.server.host,
    source: options.port !== undefined ? 'option' : environmentPort !== undefined ? 'PORT' : 'server.port',
  };
}

/** Refuses a database at another schema level; builds an empty one at this release with its first admin. */
async function prepareDatabase(database: Database, options: StartOptions, logger: Logger): Promise<void> {
  const state = await inspectSchema(database);
  assertStartable(state, database.label);
  if (state.status === 'empty') {
    await createFirstDatabase(database, options);
    logger.info(
      { database: database.label },
      'created the database at the current release and the super tenant admin',
    );
  }
}

/** Listens, and answers with the port bound (0 asks for a free one). */
async function listen(app: FastifyInstance, address: ListenAddress): Promise<number> {
  try {
    await app.listen({ port: address.port, host: address.host });
  } catch (error) {
    // Taken since the check at the start.
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portInUse(address.port, address.source);
    throw error;
  }
  const bound = app.server.address();
  return typeof bound === 'object' && bound ? bound.port : address.port;
}

/**
 * Listening and registered: this node serves. On the new home of an upgrade, the first node to get here
 * after promote ends the upgrade's outage, and records so itself.
 */
function announceServing({ layout, database, logger }: ServerContext, nodeId: string, port: number): void {
  const firstServing = recordFirstServing(layout.root, database.target, {
    nodeId,
    release: CURRENT_RELEASE,
    servingAt: Date.now(),
  });
  if (firstServing)
    logger.info(firstServing, 'first node of the new release serving after the upgrade: the outage ended');
  logger.info({ port, database: database.label, home: layout.root }, 'Tessera started');
}
