import { describe, expect, it } from 'vitest';
import { inDependencyOrder, inParallel } from '../../../src/db/copy/parallel.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('inParallel', () => {
  it('keeps the items order in its results and never runs more than asked at once', async () => {
    let running = 0;
    let most = 0;
    const results = await inParallel([5, 1, 4, 2, 3], 2, async (n) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, n * 3));
      running -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it('throws the first failure once the running items settled, and starts no new ones', async () => {
    const started: number[] = [];
    const failure = await inParallel([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      await tick();
      if (n === 1) throw new Error('one failed');
      return n;
    }).catch((error: unknown) => error);
    expect((failure as Error).message).toBe('one failed');
    expect(started).toEqual([1, 2]);
  });
});

describe('inDependencyOrder', () => {
  // tenants <- users <- user_roles -> roles <- tenants; audit stands alone.
  const parents: Record<string, string[]> = {
    tenants: [],
    users: ['tenants'],
    roles: ['tenants'],
    user_roles: ['users', 'roles'],
    audit: [],
  };
  const items = Object.keys(parents);

  it('starts an item only after all of its parents finished, two at a time', async () => {
    const finished: string[] = [];
    const startedAfter: Record<string, string[]> = {};
    let running = 0;
    let most = 0;
    await inDependencyOrder(
      items,
      2,
      (item) => parents[item] ?? [],
      async (item) => {
        startedAfter[item] = [...finished];
        running += 1;
        most = Math.max(most, running);
        await tick();
        running -= 1;
        finished.push(item);
      },
    );
    expect(finished.sort()).toEqual([...items].sort());
    for (const [item, before] of Object.entries(startedAfter)) {
      for (const parent of parents[item] ?? []) expect(before).toContain(parent);
    }
    expect(most).toBe(2);
  });

  it('counts parents outside the items as done (tables finished by an earlier attempt)', async () => {
    const order: string[] = [];
    await inDependencyOrder(
      ['user_roles', 'users'],
      2,
      (item) => parents[item] ?? [],
      async (item) => {
        order.push(item);
      },
    );
    expect(order).toEqual(['users', 'user_roles']);
  });

  it('starts nothing new after a failure and throws it', async () => {
    const started: string[] = [];
    const failure = await inDependencyOrder(
      items,
      1,
      (item) => parents[item] ?? [],
      async (item) => {
        started.push(item);
        if (item === 'tenants') throw new Error('tenants failed');
      },
    ).catch((error: unknown) => error);
    expect((failure as Error).message).toBe('tenants failed');
    expect(started).toEqual(['tenants']);
  });
});
