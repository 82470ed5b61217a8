import type { RunningApp } from '../../../webapps/runtime/contract.js';

/**
 * Requests in flight to each app, counted by the front (`[limits] max_concurrent`). Keyed by the running
 * app itself, so a redeployed app (a new `RunningApp`) starts from its own count and a removed one's entry
 * goes with it.
 */
export class InFlight {
  readonly #counts = new WeakMap<RunningApp, number>();

  /** Takes a slot; `undefined` when the app already has `max` requests in flight. */
  enter(app: RunningApp, max: number): (() => void) | undefined {
    const count = this.#counts.get(app) ?? 0;
    if (count >= max) return undefined;
    this.#counts.set(app, count + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#counts.set(app, (this.#counts.get(app) ?? 1) - 1);
    };
  }

  count(app: RunningApp): number {
    return this.#counts.get(app) ?? 0;
  }
}
