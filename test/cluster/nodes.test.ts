import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterMembership, listNodes, makeNodeId, nodeState } from '../../src/cluster/nodes.js';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { CURRENT_RELEASE, getRelease } from '../../src/releases/matrix.js';
import { bootstrapDatabase } from '../../src/server/bootstrap.js';
import { startServer } from '../../src/server/start.js';
import { runPreflight } from '../../src/upgrade/steps/preflight/preflight.js';
import { ensureBuilt } from '../helpers/cluster.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { buildRelease } from '../helpers/release-build.js';
import { writeConfig } from '../helpers/server.js';
import { type StepScenario, stepScenario } from '../upgrade/steps/scenario.js';

const PERIOD_MS = 1000;
const silent = pino({ level: 'silent' });

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

async function freshDatabase(kind: DatabaseKind): Promise<Database> {
  const scratch: ScratchDatabase = await scratchDatabase(kind, 'cluster');
  cleanups.push(() => scratch.drop());
  const database = await openDatabase(scratch.url, scratch.home);
  cleanups.push(() => database.close());
  await bootstrapDatabase(database, 'cluster-test-admin-pw');
  return database;
}

function row(nodeId: string, lastHeartbeat: number) {
  return {
    node_id: nodeId,
    host: 'other.example.com',
    port: 9763,
    release_version: CURRENT_RELEASE,
    started_at: lastHeartbeat - 60_000,
    last_heartbeat: lastHeartbeat,
  };
}

describe.each(['sqlite', 'mysql'] as const)('ClusterMembership on %s', (kind) => {
  it('registers, beats, re-registers a missing row, prunes only long-gone nodes and deregisters', async () => {
    const database = await freshDatabase(kind);
    let now = 10_000_000;
    await database.db
      .insertInto('cluster_nodes')
      .values([
        row('ancient', now - 101 * PERIOD_MS),
        row('crashed', now - 5 * PERIOD_MS),
        row('recent', now - 2 * PERIOD_MS),
      ])
      .execute();
    const membership = new ClusterMembership({
      db: database.db,
      logger: silent,
      heartbeatSeconds: 1,
      port: 4242,
      host: 'me.example.com',
      now: () => now,
    });
    cleanups.push(() => membership.stop());
    await membership.start();
    expect(membership.nodeId).toMatch(/-4242-[0-9a-f]{8}$/);

    let nodes = await listNodes(database.db, PERIOD_MS, now);
    expect(nodes.map((n) => [n.nodeId, n.state]).sort()).toEqual(
      [
        ['crashed', 'gone'],
        ['recent', 'live'],
        [membership.nodeId, 'live'],
      ].sort(),
    );
    const mine = nodes.find((n) => n.nodeId === membership.nodeId);
    expect(mine).toMatchObject({
      host: 'me.example.com',
      port: 4242,
      release: CURRENT_RELEASE,
      startedAt: 10_000_000,
      lastHeartbeat: 10_000_000,
    });

    now += 2_500;
    await membership.beat();
    nodes = await listNodes(database.db, PERIOD_MS, now);
    expect(nodes.find((n) => n.nodeId === membership.nodeId)?.lastHeartbeat).toBe(now);
    expect(nodes.find((n) => n.nodeId === 'recent')?.state).toBe('gone');

    // Removed behind its back (another node's prune while this one was paused): the next beat puts it back.
    await database.db.deleteFrom('cluster_nodes').where('node_id', '=', membership.nodeId).execute();
    now += 1_000;
    await membership.beat();
    const back = (await listNodes(database.db, PERIOD_MS, now)).find((n) => n.nodeId === membership.nodeId);
    expect(back).toMatchObject({ startedAt: 10_000_000, lastHeartbeat: now, state: 'live' });

    await membership.stop();
    await membership.stop();
    nodes = await listNodes(database.db, PERIOD_MS, now);
    expect(nodes.map((n) => n.nodeId).sort()).toEqual(['crashed', 'recent']);
    // A stopped membership beats no more.
    await membership.beat();
    expect((await listNodes(database.db, PERIOD_MS, now)).length).toBe(2);
  });

  it('never prunes a row younger than 3 periods, and can be told not to prune at all', async () => {
    const database = await freshDatabase(kind);
    const now = 50_000_000;
    await database.db
      .insertInto('cluster_nodes')
      .values([row('ancient', now - 500 * PERIOD_MS), row('young', now - 2 * PERIOD_MS)])
      .execute();
    const keep = new ClusterMembership({
      db: database.db,
      logger: silent,
      heartbeatSeconds: 1,
      port: 1,
      prune: false,
      now: () => now,
    });
    await keep.start();
    await keep.stop();
    expect((await listNodes(database.db, PERIOD_MS, now)).map((n) => n.nodeId).sort()).toEqual([
      'ancient',
      'young',
    ]);
    const prune = new ClusterMembership({
      db: database.db,
      logger: silent,
      heartbeatSeconds: 1,
      port: 2,
      now: () => now,
    });
    expect(await prune.removeLongGone()).toBe(1);
    expect((await listNodes(database.db, PERIOD_MS, now)).map((n) => n.nodeId)).toEqual(['young']);
  });

  it('logs a failed heartbeat and keeps going', async () => {
    const database = await freshDatabase(kind);
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    const membership = new ClusterMembership({ db: database.db, logger, heartbeatSeconds: 1, port: 3 });
    await membership.start();
    await database.db.schema.alterTable('cluster_nodes').renameTo('cluster_nodes_away').execute();
    await expect(membership.beat()).resolves.toBeUndefined();
    expect(errors.join('')).toContain('cluster heartbeat failed');
    await database.db.schema.alterTable('cluster_nodes_away').renameTo('cluster_nodes').execute();
    await membership.beat();
    await membership.stop();
    expect(await listNodes(database.db, PERIOD_MS)).toEqual([]);
  });
});

describe('cluster rules', () => {
  it('node ids fit the column and differ per process start', () => {
    const long = makeNodeId(65_535, 'x'.repeat(200));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(makeNodeId(80, 'host')).not.toBe(makeNodeId(80, 'host'));
    expect(makeNodeId(80, 'host')).toMatch(/^host-80-[0-9a-f]{8}$/);
  });

  it('is live within 3 periods, gone after', () => {
    expect(nodeState(1_000_000 - 2_999, 1000, 1_000_000)).toBe('live');
    expect(nodeState(1_000_000 - 3_000, 1000, 1_000_000)).toBe('gone');
  });
});

describe('the upgrade preflight and a running node', () => {
  let scenario: StepScenario | undefined;
  afterEach(async () => {
    await scenario?.dispose();
    scenario = undefined;
  });

  // The node is 2.0.1's own code (a release that runs on a 2.0.0 home), built once and cached (see
  // previous-release.e2e, whose timeout covers a build on shared cores).
  it('refuses while a 2.0.1 node runs on a 2.0.0 production, and passes once it stopped cleanly', async () => {
    ensureBuilt();
    const built = buildRelease('2.0.1', getRelease('2.0.1').source?.commit ?? '');
    const s = await stepScenario('sqlite', { release: '2.0.0' });
    scenario = s;
    const node = await startNodeProcess(s.oldHome, built.cli);
    cleanups.push(() => node.kill());
    const liveCheck = async () =>
      (await runPreflight(s.context)).results.find((r) => r.name === 'no-live-node');
    const refused = await liveCheck();
    expect(refused?.ok).toBe(false);
    // Its home lock names its pid, and its row the release its own code reports.
    expect(refused?.message).toContain(`:${node.port} (pid ${node.child.pid}, release 2.0.1, last heartbeat`);

    await node.stop();
    expect((await liveCheck())?.ok).toBe(true);
  }, 180_000);
});

describe('startServer and cluster_nodes', () => {
  it('registers on start, deletes its row on close, and prunes long-gone rows unless told not to', async () => {
    const scratch = await scratchDatabase('sqlite', 'cluster-server');
    cleanups.push(() => scratch.drop());
    const home = path.join(scratch.home, 'home');
    writeConfig(home, 'sqlite:repository/database/tessera.db');
    const url = `sqlite:${path.join(home, 'repository/database/tessera.db')}`;
    const start = (pruneGoneNodes?: boolean) =>
      startServer({
        home,
        port: 0,
        host: '127.0.0.1',
        stdoutLogs: false,
        logLevel: 'silent',
        pruneGoneNodes,
      });
    const rows = async () => {
      const database = await openDatabase(url, home);
      try {
        return (await listNodes(database.db, 10_000)).map((n) => n.nodeId);
      } finally {
        await database.close();
      }
    };

    const first = await start();
    expect((await rows()).length).toBe(1);
    await first.close();
    expect(await rows()).toEqual([]);

    const database = await openDatabase(url, home);
    await database.db
      .insertInto('cluster_nodes')
      .values(row('ancient', Date.now() - 101 * 10_000))
      .execute();
    await database.close();

    // The upgrade's smoke test starts the new release on staging: other rows stay as they are.
    const smoke = await start(false);
    expect((await rows()).length).toBe(2);
    await smoke.close();
    expect(await rows()).toEqual(['ancient']);

    const normal = await start();
    const afterPrune = await rows();
    expect(afterPrune.length).toBe(1);
    expect(afterPrune[0]).toMatch(new RegExp(`-${normal.port}-[0-9a-f]{8}$`));
    await normal.close();
    expect(await rows()).toEqual([]);
  });
});
