import type { Logger } from 'pino';
import type { AppRollout, AppStatus, RunningApp } from './contract.js';

/** What the slot needs of one version's process (`AppProcess`; a fake in the unit tests). */
export interface VersionProcess extends RunningApp {
  /** `TESSERA_APP_VERSION` of this process. */
  readonly version: string;
  /** Spawns it; `settled()` tells how it went. */
  start(): void;
  /** Drains for at most `drainMs`, then stops; `retire(0)` stops now (also during a drain). */
  retire(drainMs: number): Promise<void>;
}

export interface AppSlotEvents {
  /** After a version's process is gone: its run copy can go. */
  retired(version: VersionProcess): Promise<void>;
}

/**
 * One app's versions on this node: the one `serving` (what the front gets), a `next` one starting beside
 * it during a redeploy, and older ones still draining. A redeploy starts the new version beside the
 * serving one and switches once it is `running`: from then on the front gets the new one, and the old one
 * finishes its requests in flight (bounded by its request timeout) and stops. A new version that fails to
 * start is stopped and the serving one stays, with the failure kept for the status. Calls of `begin` and
 * `stopAll` must not overlap (the runtime listener queues them per app); the switch itself comes later,
 * whenever the new version settles.
 */
export class AppSlot {
  private servingVersion: VersionProcess | undefined;
  private nextVersion: VersionProcess | undefined;
  private failure: AppRollout['failed'];
  private switching: Promise<void> | undefined;
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    private readonly events: AppSlotEvents,
    private readonly logger: Logger,
  ) {}

  /** The version that takes requests. */
  get serving(): VersionProcess | undefined {
    return this.servingVersion;
  }

  /** Every version with a process: serving, starting beside it (draining ones are not listed). */
  get versions(): VersionProcess[] {
    return [this.servingVersion, this.nextVersion].filter((v): v is VersionProcess => v !== undefined);
  }

  /**
   * Starts `version`: beside the serving one when that one runs (it switches once the new one is
   * `running`), else in its place at once, since the old one serves nothing meanwhile (still starting,
   * restarting after a crash, failed). A version still starting from an earlier redeploy is superseded
   * and stopped first.
   */
  async begin(version: VersionProcess): Promise<void> {
    const superseded = this.nextVersion;
    this.nextVersion = undefined;
    this.switching = undefined;
    this.failure = undefined;
    if (superseded) {
      this.log(superseded, 'info', 'app version superseded before it served');
      await this.retire(superseded, 0);
    }
    const old = this.servingVersion;
    if (old?.status().state === 'running') {
      this.nextVersion = version;
      version.start();
      this.switching = this.switchWhenSettled(version);
      return;
    }
    this.servingVersion = version;
    if (old) await this.retire(old, 0);
    version.start();
  }

  /** A version that could not even be started (its copy failed): the serving one stays, the reason shown. */
  failedBeforeStart(version: string, reason: string): void {
    this.failure = { version, reason, at: new Date() };
  }

  /** Resolves once a redeploy under way has switched or failed; at once when none is. */
  async switched(): Promise<void> {
    await this.switching;
  }

  rollout(): AppRollout | undefined {
    const next = this.nextVersion;
    if (!next && !this.failure) return undefined;
    const status = next?.status();
    return {
      ...(next && status
        ? { next: { version: next.version, state: status.state, since: status.since } }
        : {}),
      ...(this.failure ? { failed: this.failure } : {}),
    };
  }

  /** Stops every version now, draining ones included; resolves once all are gone. */
  async stopAll(): Promise<void> {
    const versions = this.versions;
    this.servingVersion = undefined;
    this.nextVersion = undefined;
    this.switching = undefined;
    const draining = [...this.retiring];
    await Promise.all([...versions.map((version) => this.retire(version, 0)), ...draining]);
  }

  private async switchWhenSettled(version: VersionProcess): Promise<void> {
    const status = await version.settled();
    // Superseded by a newer deploy, or stopped by an undeploy, meanwhile: whoever did that stopped it.
    if (this.nextVersion !== version) return;
    this.nextVersion = undefined;
    if (status.state === 'running') {
      const old = this.servingVersion;
      this.servingVersion = version;
      this.log(version, 'info', 'app version switched: the new version takes the requests', old);
      if (old) void this.retire(old, old.config.limits.requestTimeoutS * 1000);
      return;
    }
    this.failure = { version: version.version, reason: reasonOf(status), at: new Date() };
    this.log(version, 'warn', 'new app version failed to start: the old version keeps serving', undefined, {
      reason: this.failure.reason,
    });
    void this.retire(version, 0);
  }

  /** Stops a version (after its drain) and lets its copy go; tracked so `stopAll` can cut and await it. */
  private retire(version: VersionProcess, drainMs: number): Promise<void> {
    const done = version
      .retire(drainMs)
      .then(() => this.events.retired(version))
      .catch((error: unknown) => {
        this.log(version, 'error', 'app version could not be stopped', undefined, { err: error });
      })
      .finally(() => this.retiring.delete(done));
    this.retiring.add(done);
    return done;
  }

  private log(
    version: VersionProcess,
    level: 'info' | 'warn' | 'error',
    message: string,
    old?: VersionProcess,
    extra: Record<string, unknown> = {},
  ): void {
    this.logger[level](
      {
        tenant: version.tenantDomain,
        app: version.name,
        version: version.version,
        ...(old ? { previous: old.version } : {}),
        ...extra,
      },
      message,
    );
  }
}

function reasonOf(status: AppStatus): string {
  return status.reason ?? `it ended ${status.state}`;
}
