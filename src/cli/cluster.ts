import { Command } from 'commander';
import { GONE_AFTER_PERIODS, listNodes } from '../cluster/nodes.js';
import { loadConfigFile } from '../config/load.js';
import { homeLayout } from '../home/layout.js';
import { assertTablesPresent, withHomeDatabase } from './home-database.js';
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
        await withHomeDatabase(config.database.url, layout.root, async (database) => {
          await assertTablesPresent(database, ['cluster_nodes']);
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
        });
      }),
    );
  return cluster;
}
