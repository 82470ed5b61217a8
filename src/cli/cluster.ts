import { Command } from 'commander';
import { GONE_AFTER_PERIODS, listNodes } from '../cluster/nodes.js';
import { loadConfigFile } from '../config/load.js';
import { type Database, openDatabase } from '../db/connection.js';
import { TesseraError } from '../errors.js';
import { homeLayout } from '../home/layout.js';
import { resolveHome, runCommand } from './run.js';

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description('the nodes that share this home’s database');
  cluster
    .command('status')
    .description('list the nodes in cluster_nodes: live (heartbeat within 3 periods) or gone')
    .option('--home <dir>', 'the Tessera home folder')
    .option('--json', 'print JSON')
    .action((options: { home?: string; json?: boolean }) =>
      runCommand(async () => {
        const layout = homeLayout(resolveHome(options.home));
        const config = loadConfigFile(layout.configFile);
        let database: Database<unknown>;
        try {
          database = await openDatabase<unknown>(config.database.url, layout.root);
        } catch (error) {
          if (error instanceof TesseraError) throw error;
          throw new TesseraError(
            'DB_CONNECT_FAILED',
            `Cannot open ${config.database.url}: ${(error as Error).message}`,
          );
        }
        try {
          const tables = await database.db.introspection.getTables();
          if (!tables.some((t) => t.name === 'cluster_nodes')) {
            throw new TesseraError(
              'BAD_USAGE',
              `${database.label} has no cluster_nodes table (not a Tessera 2.0 database, or never started).`,
              { hint: 'Run tessera status --home to see the database’s schema level.' },
            );
          }
          const periodMs = config.cluster.heartbeatSeconds * 1000;
          const now = Date.now();
          const nodes = await listNodes(database.db, periodMs, now);
          if (options.json) {
            process.stdout.write(
              `${JSON.stringify({ heartbeatSeconds: config.cluster.heartbeatSeconds, goneAfterSeconds: (GONE_AFTER_PERIODS * periodMs) / 1000, nodes })}\n`,
            );
            return;
          }
          const rows = nodes.map((n) => [
            n.nodeId,
            `${n.host}:${n.port}`,
            n.release,
            new Date(n.startedAt).toISOString(),
            `${n.secondsSinceHeartbeat} s ago`,
            n.state,
          ]);
          const header = ['NODE', 'ADDRESS', 'RELEASE', 'STARTED', 'LAST BEAT', 'STATE'];
          const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
          const line = (cells: string[]) =>
            cells
              .map((c, i) => c.padEnd(widths[i] ?? 0))
              .join('  ')
              .trimEnd();
          const live = nodes.filter((n) => n.state === 'live').length;
          process.stdout.write(
            [
              `database: ${database.kind} (${database.label}); heartbeat every ${config.cluster.heartbeatSeconds} s, gone after ${GONE_AFTER_PERIODS} missed`,
              `${live} live, ${nodes.length - live} gone`,
              ...(nodes.length > 0 ? [line(header), ...rows.map(line)] : []),
              '',
            ].join('\n'),
          );
        } finally {
          await database.close();
        }
      }),
    );
  return cluster;
}
