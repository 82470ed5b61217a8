/** One thing the smoke test did or checked, and how long it took. */
export interface CheckRecord {
  name: string;
  ok: boolean;
  ms: number;
  detail?: string;
}

/** Times and records each check; a failing check is recorded, then its error goes on up. */
export class CheckLog {
  readonly records: CheckRecord[] = [];

  async check<T>(name: string, work: () => Promise<T>, detail?: string): Promise<T> {
    const started = performance.now();
    try {
      const result = await work();
      this.record(name, true, started, detail);
      return result;
    } catch (error) {
      this.record(name, false, started, error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  record(name: string, ok: boolean, started: number, detail?: string): void {
    this.records.push({
      name,
      ok,
      ms: Math.round(performance.now() - started),
      ...(detail ? { detail } : {}),
    });
  }
}
