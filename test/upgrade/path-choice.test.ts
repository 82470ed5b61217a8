import { describe, expect, it } from 'vitest';
import type { LiveNode } from '../../src/cluster/liveness.js';
import { RELEASES } from '../../src/releases/matrix.js';
import { type AttachedClients, choosePath, pathOf } from '../../src/upgrade/path-choice.js';
import { stepsFor } from '../../src/upgrade/steps/index.js';

function node(release: string | undefined, id = 'n1'): LiveNode {
  return {
    nodeId: id,
    host: '10.0.0.1',
    port: 9763,
    release,
    pid: 42,
    secondsSinceHeartbeat: 0,
    locked: true,
  };
}

const live = (...nodes: LiveNode[]): AttachedClients => ({ state: 'live', nodes, sessions: [] });

/** The releases whose nodes follow maintenance mode: 2.0.1 on (README, Maintenance mode). */
const WITH_MAINTENANCE = new Set(['2.0.1', '2.1.0']);

describe('the upgrade path chosen from the nodes on production', () => {
  it.each(RELEASES.map((release) => release.version))(
    'live nodes of %s: online only if that release has maintenance mode',
    (version) => {
      const choice = choosePath(live(node(version), node(version, 'n2')));
      const expected = WITH_MAINTENANCE.has(version) ? 'online' : 'stopped-node';
      expect(choice.name).toBe(expected);
      expect(choice.reason).toContain(`release ${version}`);
    },
  );

  it('no node running (found stopped, or nothing could tell): the stopped-node path, as before', () => {
    for (const state of ['stopped', 'unknown'] as const) {
      const choice = choosePath({ state, nodes: [], sessions: [] });
      expect(choice).toMatchObject({
        name: 'stopped-node',
        reason: expect.stringContaining('no Tessera node'),
      });
    }
  });

  it('one node that cannot be frozen (an older release, or one still starting) takes the stopped-node path', () => {
    expect(choosePath(live(node('2.0.1'), node('2.0.0', 'n2')))).toMatchObject({
      name: 'stopped-node',
      reason: expect.stringContaining('release 2.0.0'),
    });
    expect(choosePath(live(node('2.0.1'), node(undefined, 'n2')))).toMatchObject({
      name: 'stopped-node',
      reason: expect.stringContaining('still starting'),
    });
  });

  it('other sessions without a node cannot be frozen: the stopped-node path, whose preflight refuses them', () => {
    const choice = choosePath({
      state: 'live',
      nodes: [],
      sessions: [{ id: '7', user: 'report', client: '10.0.0.9' }],
    });
    expect(choice).toMatchObject({ name: 'stopped-node', reason: expect.stringContaining('other clients') });
  });

  it('the online path adds the freeze step after the preflight; a plan without a path is a stopped-node one', () => {
    const online = stepsFor({ path: choosePath(live(node('2.0.1'))) }).map((step) => step.name);
    expect(online.slice(0, 4)).toEqual(['plan', 'preflight', 'freeze', 'backup']);
    expect(online).toHaveLength(10);
    expect(stepsFor({}).map((step) => step.name)).not.toContain('freeze');
    expect(pathOf({})).toBe('stopped-node');
  });
});
