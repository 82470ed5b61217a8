import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AppMetrics } from '../../telemetry/app-metrics.js';
import { AppProcess } from './app-process.js';
import { AppSlot, type VersionProcess } from './app-slot.js';
import type { AppDirectory, AppLaunch, AppRollout, RunningApp } from './contract.js';
import { copyForRun } from './run-copy.js';

export interface AppRuntimeOptions {
  /** The home's `logs/` folder. */
  readonly logsFolder: string;
  /**
   * Where each started version's copy of its app goes (`appRunsFolder`: `<work>/apps`), as
   * `<tenantId>/<app>/<n>`. Emptied when the runtime opens: what is there was left by a node that stopped.
   */
  readonly runsFolder: string;
  readonly logger: Logger;
  readonly metrics?: AppMetrics;
  /** The host's `main.js` (default: the build's). */
  readonly hostEntry?: string;
  /** Between SIGTERM and SIGKILL when an app stops. */
  readonly stopGraceMs?: number;
}

/**
 * Every running Node.js app of a node, by tenant and name: what the deployer starts and stops and the
 * HTTP front asks for. Each started version runs from its own copy of the app's folder; a redeploy starts
 * the new version beside the old one and switches when it runs (`AppSlot`). The sockets live in one
 * private folder made per runtime.
 */
export class AppRuntime implements AppDirectory {
  private readonly slots = new Map<string, AppSlot>();
  private readonly options: AppRuntimeOptions;
  /** Made when the first app starts: a node whose home runs no node app leaves nothing in the temp folder. */
  private socketFolder: Promise<string> | undefined;
  private sockets = 0;
  /** The `<n>` of run copies: never reused within the runtime, whose opening emptied the folder. */
  private runs = 0;
  private closed = false;
  /** Each version's run copy, as the runtime made it. */
  private readonly copies = new WeakMap<VersionProcess, string>();

  private constructor(options: AppRuntimeOptions) {
    this.options = options;
  }

  static async open(options: AppRuntimeOptions): Promise<AppRuntime> {
    await rm(options.runsFolder, { recursive: true, force: true });
    return new AppRuntime(options);
  }

  /** The socket folder (mode 0700, as mkdtemp makes it) in the system's temporary folder. */
  private folder(): Promise<string> {
    // Short on purpose: a Unix socket path has at most 107 bytes.
    this.socketFolder ??= mkdtemp(path.join(os.tmpdir(), 'tessera-apps-'));
    return this.socketFolder;
  }

  /**
   * Starts a version of an app from a fresh copy of `launch.root`: beside the running version of the same
   * tenant and name (a redeploy, which switches once the new one runs), or as the first. Resolves once the
   * process is spawned; `settled()` of the result tells whether it came up, `switched()` when it took over.
   */
  async start(launch: AppLaunch): Promise<AppProcess> {
    if (this.closed) throw new Error('the app runtime is closed');
    const socketFolder = await this.folder();
    this.runs += 1;
    const run = path.join(this.options.runsFolder, String(launch.tenantId), launch.name, String(this.runs));
    const copying = performance.now();
    const root = await copyForRun(launch.root, run).catch(async (error: unknown) => {
      await rm(run, { recursive: true, force: true });
      const reason = `cannot copy the app to run it: ${error instanceof Error ? error.message : String(error)}`;
      this.slots.get(key(launch.tenantId, launch.name))?.failedBeforeStart(launch.version, reason);
      throw new Error(reason, { cause: error });
    });
    const copyMs = Math.round(performance.now() - copying);
    if (this.closed) {
      await rm(run, { recursive: true, force: true });
      throw new Error('the app runtime is closed');
    }
    const app = new AppProcess(
      { ...launch, root },
      {
        socketFolder,
        socketName: () => this.nextSocketName(),
        logsFolder: this.options.logsFolder,
        logger: this.options.logger,
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
        ...(this.options.hostEntry ? { hostEntry: this.options.hostEntry } : {}),
        ...(this.options.stopGraceMs !== undefined ? { stopGraceMs: this.options.stopGraceMs } : {}),
      },
    );
    this.copies.set(app, run);
    const slot = this.slotOf(launch.tenantId, launch.name);
    await slot.begin(app);
    if (this.closed) {
      // Closed while the version was being put in place: `close()` no longer sees this slot.
      await slot.stopAll();
      throw new Error('the app runtime is closed');
    }
    this.options.logger.info(
      { tenant: launch.tenantDomain, app: launch.name, version: launch.version, copyMs },
      'app process started',
    );
    return app;
  }

  /** Stops every version of the app (a draining one at once) and removes their copies. */
  async stop(tenantId: number, name: string): Promise<void> {
    const slot = this.slots.get(key(tenantId, name));
    if (!slot) return;
    this.slots.delete(key(tenantId, name));
    await slot.stopAll();
    await removeIfEmpty(path.join(this.options.runsFolder, String(tenantId), name));
    await removeIfEmpty(path.join(this.options.runsFolder, String(tenantId)));
  }

  /** `1.sock`, `2.sock` ... in base 36: short, and never reused within the runtime. */
  private nextSocketName(): string {
    this.sockets += 1;
    return `${this.sockets.toString(36)}.sock`;
  }

  /** The version serving the app. */
  get(tenantId: number, name: string): RunningApp | undefined {
    return this.slots.get(key(tenantId, name))?.serving;
  }

  rollout(tenantId: number, name: string): AppRollout | undefined {
    return this.slots.get(key(tenantId, name))?.rollout();
  }

  /** Resolves once the app's redeploy under way (if any) has switched to the new version or failed. */
  async switched(tenantId: number, name: string): Promise<void> {
    await this.slots.get(key(tenantId, name))?.switched();
  }

  /** The serving version of every app. */
  list(): RunningApp[] {
    return [...this.slots.values()].flatMap((slot) => (slot.serving ? [slot.serving] : []));
  }

  /** Stops every app and removes the socket folder and the run copies. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.allSettled(slots.map((slot) => slot.stopAll()));
    if (this.socketFolder) await rm(await this.socketFolder, { recursive: true, force: true });
    await rm(this.options.runsFolder, { recursive: true, force: true });
  }

  private slotOf(tenantId: number, name: string): AppSlot {
    let slot = this.slots.get(key(tenantId, name));
    if (!slot) {
      slot = new AppSlot({ retired: (version) => this.removeCopy(version) }, this.options.logger);
      this.slots.set(key(tenantId, name), slot);
    }
    return slot;
  }

  /** A version's copy goes once its process has. */
  private async removeCopy(version: VersionProcess): Promise<void> {
    const run = this.copies.get(version);
    if (run !== undefined) await rm(run, { recursive: true, force: true });
  }
}

function key(tenantId: number, name: string): string {
  return `${tenantId}/${name}`;
}

/** The app's folder of run copies, once its last copy went (another start may be adding one: then kept). */
async function removeIfEmpty(folder: string): Promise<void> {
  await rmdir(folder).catch(() => undefined);
}
