import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBus } from '../../src/cluster/bus.js';
import { TenantFollower } from '../../src/tenants/follower.js';
import { until } from '../cache/redis.js';

describe('TenantFollower', () => {
  let follower: TenantFollower | undefined;
  afterEach(async () => {
    await follower?.stop();
  });

  it('serves tenants another node created and lets go of deleted ones, when told and periodically', async () => {
    let inDatabase = [0, 1];
    const changes: string[] = [];
    const bus = new LocalBus();
    follower = new TenantFollower({
      list: async () => inDatabase,
      added: async (id) => void changes.push(`+${id}`),
      removed: async (id) => void changes.push(`-${id}`),
      bus,
      logger: pino({ level: 'silent' }),
      intervalMs: 200,
    });
    follower.start([0, 1]);

    inDatabase = [0, 1, 2];
    await bus.publish({ kind: 'tenants' });
    await until('tenant 2 served', () => changes.includes('+2'), 1_000);

    // No message this time: the periodic check finds it.
    inDatabase = [0, 2, 3];
    await until('1 dropped and 3 served', () => changes.includes('-1') && changes.includes('+3'), 2_000);
    expect(changes).toEqual(['+2', '+3', '-1']);
  });

  it('a failing change is logged and the others still apply', async () => {
    const changes: number[] = [];
    const lines: string[] = [];
    follower = new TenantFollower({
      list: async () => [5, 6],
      added: async (id) => {
        if (id === 5) throw new Error('folder not writable');
        changes.push(id);
      },
      removed: async () => {},
      bus: new LocalBus(),
      logger: pino({ level: 'error' }, { write: (line: string) => void lines.push(line) }),
      intervalMs: 60_000,
    });
    follower.start([]);
    await follower.follow();
    expect(changes).toEqual([6]);
    expect(lines.join('')).toContain('folder not writable');
  });

  it('a tenant deleted and another created under its id (SQLite reuses it) is let go, then the new one served', async () => {
    const changes: string[] = [];
    let inDatabase = [
      { id: 1, domain: 'a.com', createdAt: '2026-01-01T00:00:00.000Z' },
      { id: 2, domain: 'b.com', createdAt: '2026-01-01T00:00:00.000Z' },
    ];
    follower = new TenantFollower({
      list: async () => inDatabase,
      added: async (id) => void changes.push(`+${id}`),
      removed: async (id) => void changes.push(`-${id}`),
      bus: new LocalBus(),
      logger: pino({ level: 'silent' }),
      intervalMs: 60_000,
    });
    // At start the server knows ids only: the first list supplies their keys, changing nothing.
    follower.start([1, 2]);
    await follower.follow();
    expect(changes).toEqual([]);

    inDatabase = [
      { id: 1, domain: 'a.com', createdAt: '2026-01-01T00:00:00.000Z' },
      { id: 2, domain: 'c.com', createdAt: '2026-02-01T00:00:00.000Z' },
    ];
    await follower.follow();
    expect(changes).toEqual(['-2', '+2']);

    // The same domain created again also counts as another tenant.
    inDatabase = [
      { id: 1, domain: 'a.com', createdAt: '2026-03-01T00:00:00.000Z' },
      { id: 2, domain: 'c.com', createdAt: '2026-02-01T00:00:00.000Z' },
    ];
    await follower.follow();
    expect(changes).toEqual(['-2', '+2', '-1', '+1']);
  });

  it('a tenant this node created itself under a reused id is not let go and served again', async () => {
    const changes: string[] = [];
    let inDatabase = [{ id: 4, domain: 'old.com', createdAt: '2026-01-01T00:00:00.000Z' }];
    follower = new TenantFollower({
      list: async () => inDatabase,
      added: async (id) => void changes.push(`+${id}`),
      removed: async (id) => void changes.push(`-${id}`),
      bus: new LocalBus(),
      logger: pino({ level: 'silent' }),
      intervalMs: 60_000,
    });
    follower.start(inDatabase);
    const created = { id: 4, domain: 'new.com', createdAt: '2026-02-01T00:00:00.000Z' };
    inDatabase = [created];
    follower.adopt(created);
    await follower.follow();
    expect(changes).toEqual([]);
  });
});
