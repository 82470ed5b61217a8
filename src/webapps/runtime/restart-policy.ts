/** A run that lasted this long after `ready` is stable: the crash count starts again. */
export const STABLE_RUN_MS = 60_000;
/** This many failures without a stable run in between is a crash loop: the state becomes `error`. */
export const CRASH_LOOP_FAILURES = 3;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;

/**
 * When to try again after a crash or a failed start: 1 s, 2 s, 4 s ... capped at 60 s, counted from the
 * last stable run.
 */
export class RestartPolicy {
  private failures = 0;

  /** Records a failure of a run that was ready for `readyForMs` (undefined: never ready). */
  failed(readyForMs: number | undefined): void {
    if (readyForMs !== undefined && readyForMs >= STABLE_RUN_MS) this.failures = 0;
    this.failures += 1;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  get crashLoop(): boolean {
    return this.failures >= CRASH_LOOP_FAILURES;
  }

  /** The wait before the next start. */
  delayMs(): number {
    return Math.min(FIRST_DELAY_MS * 2 ** Math.max(0, this.failures - 1), MAX_DELAY_MS);
  }
}
