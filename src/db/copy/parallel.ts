/**
 * Runs `work` over `items` with at most `concurrency` at once and returns the results in the items' order.
 * The first failure is thrown once every started item has settled, so nothing is left running behind it.
 */
export async function inParallel<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * Runs `work` over `items` with at most `concurrency` at once, starting an item only once every item it
 * depends on (among `items`; others count as done) has finished. Stops starting new items at the first
 * failure, which is thrown once the running ones have settled.
 */
export async function inDependencyOrder<T>(
  items: readonly T[],
  concurrency: number,
  dependsOn: (item: T) => readonly T[],
  work: (item: T) => Promise<void>,
): Promise<void> {
  const pending = new Set(items);
  const done = new Set<T>();
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const isReady = (item: T) => dependsOn(item).every((d) => d === item || done.has(d) || !items.includes(d));
  while (failure === undefined && (pending.size > 0 || running.size > 0)) {
    const next = running.size < concurrency ? [...pending].find(isReady) : undefined;
    if (next !== undefined) {
      pending.delete(next);
      const run: Promise<void> = work(next).then(
        () => {
          done.add(next);
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      const tracked = run.finally(() => running.delete(tracked));
      running.add(tracked);
      continue;
    }
    // Nothing can start (all busy, or waiting on parents): wait for one to finish. With nothing running
    // and nothing ready, the dependencies form a cycle, which the caller's ordering already refuses.
    if (running.size === 0) throw new Error('inDependencyOrder: items depend on each other in a cycle');
    await Promise.race(running);
  }
  await Promise.allSettled(running);
  if (failure !== undefined) throw failure.error;
}
