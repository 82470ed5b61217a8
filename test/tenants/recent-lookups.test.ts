import { describe, expect, it } from 'vitest';
import { RecentLookups } from '../../src/tenants/recent-lookups.js';

/** A lookup over a table the test changes, counting how often it is asked, on a clock the test moves. */
function setUp(ttlMs = 1000, maxEntries = 10) {
  const table = new Map<string, number>([['acme.com', 7]]);
  const asked: string[] = [];
  let now = 0;
  const lookups = new RecentLookups(
    async (domain: string) => {
      asked.push(domain);
      return table.get(domain);
    },
    ttlMs,
    maxEntries,
    () => now,
  );
  return { table, asked, lookups, advance: (ms: number) => (now += ms) };
}

describe('RecentLookups', () => {
  it('answers from memory until the time to live passes, misses included', async () => {
    const { table, asked, lookups, advance } = setUp();
    expect(await lookups.get('acme.com')).toBe(7);
    expect(await lookups.get('nowhere.org')).toBeUndefined();
    table.set('acme.com', 8);
    advance(999);
    expect(await lookups.get('acme.com')).toBe(7);
    expect(await lookups.get('nowhere.org')).toBeUndefined();
    expect(asked).toEqual(['acme.com', 'nowhere.org']);
    advance(1);
    expect(await lookups.get('acme.com')).toBe(8);
    expect(asked).toEqual(['acme.com', 'nowhere.org', 'acme.com']);
  });

  it('shares one lookup among callers that ask while it runs', async () => {
    const { asked, lookups } = setUp();
    const answers = await Promise.all([
      lookups.get('acme.com'),
      lookups.get('acme.com'),
      lookups.get('acme.com'),
    ]);
    expect(answers).toEqual([7, 7, 7]);
    expect(asked).toEqual(['acme.com']);
  });

  it('forgets everything on clear, and keeps nothing a lookup begun before it read', async () => {
    const { table, asked, lookups } = setUp();
    const before = lookups.get('acme.com'); // reads 7 ...
    table.set('acme.com', 9);
    lookups.clear(); // ... while the tenant changes
    expect(await before).toBe(7);
    expect(await lookups.get('acme.com')).toBe(9);
    expect(asked).toEqual(['acme.com', 'acme.com']);
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const { asked, lookups } = setUp(1000, 3);
    for (const domain of ['a', 'b', 'c', 'd']) await lookups.get(domain);
    await lookups.get('d');
    await lookups.get('b');
    expect(asked).toEqual(['a', 'b', 'c', 'd']);
    await lookups.get('a');
    expect(asked).toEqual(['a', 'b', 'c', 'd', 'a']);
  });
});
