import { sql } from 'kysely';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getRelease } from '../../src/releases/matrix.js';
import { runPreflight } from '../../src/upgrade/steps/preflight/preflight.js';
import type { CheckResult } from '../../src/upgrade/types.js';
import { ensureBuilt } from '../helpers/cluster.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { type NodeProcess, startNodeProcess } from '../helpers/node-process.js';
import { buildRelease } from '../helpers/release-build.js';
import { type StepScenario, stepScenario } from '../upgrade/steps/scenario.js';

let scenario: StepScenario | undefined;
let node: NodeProcess | undefined;
/** The release whose node runs on production: the latest recorded one that runs on a 2.0.0 home. */
const OLD = '2.0.1';

beforeAll(() => {
  ensureBuilt();
});

afterEach(async () => {
  await node?.kill();
  node = undefined;
  await scenario?.dispose();
  scenario = undefined;
});

async function liveCheck(s: StepScenario): Promise<CheckResult> {
  const found = (await runPreflight(s.context)).results.find((r) => r.name === 'no-live-node');
  if (!found) throw new Error('no no-live-node check');
  return found;
}

describe.each(DATABASE_KINDS)('the no-live-node preflight on %s', (kind) => {
  it('finds a running node by its home lock even when its heartbeat is stale, and a killed one dead at once', async () => {
    const s = await stepScenario(kind, { release: '2.0.0' });
    scenario = s;
    const production = await s.context.production();
    // What runs on production before an upgrade is the old release: 2.0.1's own code on its 2.0.0 home.
    node = await startNodeProcess(s.oldHome, buildRelease(OLD, getRelease(OLD).source?.commit ?? '').cli);
    const name = `node ${node.node.nodeId} at ${node.node.host}:${node.node.port}`;

    let check = await liveCheck(s);
    expect(check.ok).toBe(false);
    expect(check.message).toContain(name);

    // A node that hangs (here: stopped by SIGSTOP) misses its heartbeats but is not dead: it still holds its
    // lock and may wake up and write.
    node.child.kill('SIGSTOP');
    await sql`update cluster_nodes set last_heartbeat = ${Date.now() - 3_600_000}`.execute(production.db);
    check = await liveCheck(s);
    expect(check.ok).toBe(false);
    // An hour, and the seconds the check itself took on a busy machine.
    const stale = /\(pid (\d+), release ([\d.]+), last heartbeat (\d+) s ago\)/.exec(
      check.message.slice(check.message.indexOf(name)),
    );
    expect(stale?.slice(1, 3), check.message).toEqual([String(node.child.pid), OLD]);
    expect(Number(stale?.[3])).toBeGreaterThanOrEqual(3600);
    expect(Number(stale?.[3])).toBeLessThan(3660);

    // kill -9 leaves the row behind; even a heartbeat from the moment before the crash does not count, since
    // the kernel dropped the node's lock with the process.
    await node.kill();
    await sql`update cluster_nodes set last_heartbeat = ${Date.now()}`.execute(production.db);
    check = await liveCheck(s);
    expect(check).toMatchObject({ ok: true });
    expect(check.unknown).toBeUndefined();
    expect(check.message).toContain(`node locks in ${s.oldHome}`);
  });
});
