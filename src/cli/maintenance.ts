import os from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { openClusterCache } from '../cache/cluster-cache.js';
import { loadConfigFile } from '../config/load.js';
import type { Database } from '../db/connection.js';
import type { Schema } from '../db/schema.js';
import { isTesseraError, TesseraError } from '../errors.js';
import { homeLayout } from '../home/layout.js';
import { type AckReport, ackReport } from '../maintenance/ack-report.js';
import { DEFAULT_ACK_WAIT_SECONDS, switchCluster } from '../maintenance/switch.js';
import { assertTablesPresent, withHomeDatabase } from './home-database.js';
import { resolveHome, runCommand } from './run.js';

interface Options {
  home?: string;
  json?: boolean;
}

interface OnOptions extends Options {
  message?: string;
  retryAfter?: number;
  wait?: number;
}

/** `tessera maintenance on|off|status` (README, Maintenance mode). */
export function maintenanceCommand(): Command {
  const maintenance = new Command('maintenance').description(
    'refuse every write on every node (reads and logins keep working), or accept them again',
  );
  const common = (command: Command) =>
    command.option('--home <dir>', 'the Tessera home folder').option('--json', 'print JSON');
  common(
    maintenance
      .command('on')
      .description(
        'switch maintenance on, then wait until every live node refuses writes and finished those it had let in',
      )
      .option('--message <text>', 'what refused writes answer with')
      .option('--retry-after <seconds>', 'the Retry-After of refused writes (default 120)', wholeNumber)
      .option(
        '--wait <seconds>',
        `how long to wait for the nodes' acknowledgements (default ${DEFAULT_ACK_WAIT_SECONDS})`,
        wholeNumber,
      ),
  ).action((options: OnOptions) => runCommand(() => switchFromCli(true, options)));
  common(
    maintenance.command('off').description('switch maintenance off: every node accepts writes again'),
  ).action((options: Options) => runCommand(() => switchFromCli(false, options)));
  common(
    maintenance
      .command('status')
      .description("the mode, and each live node's acknowledgement of the last switch"),
  ).action((options: Options) =>
    runCommand(() =>
      withDatabase(options, async (database, periodMs) => {
        print(await ackReport(database.db, periodMs), options);
      }),
    ),
  );
  return maintenance;
}

/** Switches, tells the nodes over the home's Redis (if any) and reports; exit 1 when a node did not acknowledge `on`. */
async function switchFromCli(on: boolean, options: OnOptions): Promise<number> {
  return withDatabase(options, async (database, periodMs, redisUrl) => {
    // The nodes' own channel (the same prefix, from the same database URL); without Redis the nodes read
    // the state at their next heartbeat.
    const cluster = await openClusterCache({
      redisUrl,
      databaseLabel: database.label,
      logger: pino({ level: 'silent' }),
    });
    try {
      const waitSeconds = options.wait ?? DEFAULT_ACK_WAIT_SECONDS;
      const report = await switchCluster({
        db: database.db,
        bus: cluster.bus,
        change: { on, message: options.message, retryAfterSeconds: options.retryAfter, by: operator() },
        periodMs,
        waitMs: waitSeconds * 1000,
      }).catch((error: unknown) => {
        // A message or Retry-After out of bounds is the command line's to fix: bad usage, exit 2.
        if (!isTesseraError(error, 'BAD_REQUEST')) throw error;
        throw new TesseraError('BAD_USAGE', error.message, { hint: 'Run tessera maintenance on --help.' });
      });
      print(report, options);
      if (!on || report.allAcked) return 0;
      const missing = report.nodes.filter((node) => !node.acked);
      process.stderr.write(
        `tessera: ${missing.length} live node(s) did not acknowledge within ${waitSeconds} s: ${missing
          .map((node) => `${node.nodeId} (${node.host}:${node.port})`)
          .join(', ')}. Maintenance mode stays on.\n` +
          '  next: check those nodes (a hung process, a lost database connection), then run tessera maintenance status --home again, or stop them.\n',
      );
      return 1;
    } finally {
      await cluster.close();
    }
  });
}

async function withDatabase<T>(
  options: Options,
  body: (database: Database, periodMs: number, redisUrl: string | undefined) => Promise<T>,
): Promise<T> {
  const layout = homeLayout(resolveHome(options.home));
  const config = loadConfigFile(layout.configFile);
  return withHomeDatabase<T, Schema>(config.database.url, layout.root, async (database) => {
    await assertTablesPresent(database, ['cluster_nodes', 'registry_resources']);
    return body(database, config.cluster.heartbeatSeconds * 1000, config.cache.redis);
  });
}

function print(report: AckReport, options: Options): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const { state } = report;
  const lines = [
    state.on
      ? `maintenance: on (generation ${state.generation})`
      : `maintenance: off (generation ${state.generation})`,
  ];
  if (state.since !== undefined)
    lines.push(`switched: ${new Date(state.since).toISOString()} by ${state.by}`);
  if (state.on) lines.push(`message: ${state.message}`, `retry after: ${state.retryAfterSeconds} s`);
  const acked = report.nodes.filter((node) => node.acked).length;
  lines.push(`${report.nodes.length} live node(s), ${acked} acknowledged generation ${report.generation}`);
  for (const node of report.nodes) {
    const what = node.acked
      ? 'acked'
      : node.inFlight > 0
        ? `not acked (${node.inFlight} write(s) still running)`
        : 'not acked';
    lines.push(`  ${node.nodeId}  ${node.host}:${node.port}  ${what}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Who switched, as the state records it. */
function operator(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry for this uid (a container): the host still says where the switch came from.
  }
  return `cli:${user}@${os.hostname()}`;
}

function wholeNumber(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('a whole number of seconds');
  return number;
}
