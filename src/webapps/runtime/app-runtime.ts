import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AppMetrics } from '../../telemetry/app-metrics.js';
import { AppProcess } from './app-process.js';
import type { AppDirectory, AppLaunch, RunningApp } from './contract.js';

export interface AppRuntimeOptions {
  /** The home's `logs/` folder. */
  readonly logsFolder: string;
  readonly logger: Logger;
  readonly metrics?: AppMetrics;
  /** The host's `main.js` (default: the build's). */
  readonly hostEntry?: string;
  /** Between SIGTERM and SIGKILL when an app stops. */
  readonly stopGraceMs?: number;
}

/**
 * Every running Node.js app of a node, by tenant and name: what the deployer starts and stops and the
 * HTTP front asks for. The sockets live in one private folder made per runtime.
 */
export class AppRuntime implements AppDirectory {
  private readonly apps = new Map<string, AppProcess>();
  private readonly options: AppRuntimeOptions;
  /** Made when the first app starts: a node whose home runs no node app leaves nothing in the temp folder. */
  private socketFolder: Promise<string> | undefined;
  private sockets = 0;
  private closed = false;

  private constructor(options: AppRuntimeOptions) {
    this.options = options;
  }

  static async open(options: AppRuntimeOptions): Promise<AppRuntime> {
    return new AppRuntime(options);
  }

  /** The socket folder (mode 0700, as mkdtemp makes it) in the system's temporary folder. */
  private folder(): Promise<string> {
    // Short on purpose: a Unix socket path has at most 107 bytes.
    this.socketFolder ??= mkdtemp(path.join(os.tmpdir(), 'tessera-apps-'));
    return this.socketFolder;
  }

  /**
   * Starts an app, first stopping a running one of the same tenant and name (a redeploy). Resolves once the
   * process is spawned; `settled()` of the result tells whether it came up.
   */
  async start(launch: AppLaunch): Promise<RunningApp> {
    if (this.closed) throw new Error('the app runtime is closed');
    await this.stop(launch.tenantId, launch.name);
    const socketFolder = await this.folder();
    if (this.closed) throw new Error('the app runtime is closed');
    const app = new AppProcess(launch, {
      socketFolder,
      socketName: () => this.nextSocketName(),
      logsFolder: this.options.logsFolder,
      logger: this.options.logger,
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      ...(this.options.hostEntry ? { hostEntry: this.options.hostEntry } : {}),
      ...(this.options.stopGraceMs !== undefined ? { stopGraceMs: this.options.stopGraceMs } : {}),
    });
    this.apps.set(key(launch.tenantId, launch.name), app);
    app.start();
    this.options.logger.info({ tenant: launch.tenantDomain, app: launch.name }, 'app process started');
    return app;
  }

  async stop(tenantId: number, name: string): Promise<void> {
    const app = this.apps.get(key(tenantId, name));
    if (!app) return;
    this.apps.delete(key(tenantId, name));
    await app.stop();
  }

  /** `1.sock`, `2.sock` ... in base 36: short, and never reused within the runtime. */
  private nextSocketName(): string {
    this.sockets += 1;
    return `${this.sockets.toString(36)}.sock`;
  }

  get(tenantId: number, name: string): RunningApp | undefined {
    return this.apps.get(key(tenantId, name));
  }

  list(): RunningApp[] {
    return [...this.apps.values()];
  }

  /** Stops every app and removes the socket folder. */
  async close(): Promise<void> {
    this.closed = true;
    const apps = [...this.apps.values()];
    this.apps.clear();
    await Promise.allSettled(apps.map((app) => app.stop()));
    if (this.socketFolder) await rm(await this.socketFolder, { recursive: true, force: true });
  }
}

function key(tenantId: number, name: string): string {
  return `${tenantId}/${name}`;
}
