import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Pool } from 'undici';
import { PRIVATE_FOLDER_MODE } from '../../home/private-modes.js';
import type { AppMetrics } from '../../telemetry/app-metrics.js';
import { HEARTBEAT_MS } from './app-host/heartbeat.js';
import { type HostMessage, type HostSettings, isHostMessage } from './app-host/messages.js';
import { readableLines } from './app-host/readable-lines.js';
import { AppLog, appLogFile } from './app-log.js';
import { HOST_ENTRY, hostArguments, hostEnvironment } from './app-spawn.js';
import {
  type AppConfig,
  type AppEndpoint,
  type AppLaunch,
  type AppState,
  type AppStatus,
  KEY_HEADER,
  REQUEST_ID_HEADER,
  type RunningApp,
} from './contract.js';
import { waitUntilHealthy } from './health-check.js';
import { OpenTunnels } from './open-tunnels.js';
import { RestartPolicy } from './restart-policy.js';

export interface AppProcessOptions {
  /** The runtime's private folder (0700) where the sockets live. */
  readonly socketFolder: string;
  /** A short socket file name, new for every start (Unix socket paths are limited to 107 bytes). */
  readonly socketName: () => string;
  /** The home's `logs/` folder; the app's output goes to `apps/<tenant domain>/<app>.log` below it. */
  readonly logsFolder: string;
  readonly logger: Logger;
  readonly metrics?: AppMetrics;
  /** The host's `main.js` (default: the build's). */
  readonly hostEntry?: string;
  /** Between SIGTERM and SIGKILL on stop. */
  readonly stopGraceMs?: number;
}

/** The watchdog never waits less than this for a heartbeat (they come every second). */
const MIN_WATCHDOG_S = 2;
const HEAP_ABORT = /JavaScript heap out of memory/;

/** One run of the host: the child and what it said. */
interface Run {
  readonly child: ChildProcess;
  readonly socketPath: string;
  readonly key: string;
  readonly exited: Promise<void>;
  /** WebSocket tunnels the front opened to this run. */
  readonly tunnels: OpenTunnels;
  /** The host said `ready` (once per run counts: the app's code shares its process and could say it too). */
  announced?: boolean;
  pool?: Pool;
  readyAt?: number;
  lastBeat: number;
  /** Why it failed, when known before it exits: the host's `error`, the watchdog, the heap limit. */
  failure?: string;
  watchdog?: NodeJS.Timeout;
  /** Fails the start at `start_timeout_s` unless the run is `running` by then. */
  startTimer?: NodeJS.Timeout;
  /** When the start timeout passes (epoch ms): the health check asks until then. */
  startDeadline: number;
  /** The health path's last answer (or why none came), for the reason of a start that timed out. */
  lastHealth?: string;
}

/**
 * undici, loaded when the first app comes up rather than with the server: it adds about 120 ms to every
 * start of a node (and of every CLI command that opens the services) whose home runs no node app.
 */
let undiciModule: Promise<typeof import('undici')> | undefined;
function undici(): Promise<typeof import('undici')> {
  undiciModule ??= import('undici');
  return undiciModule;
}

/**
 * Supervises one app's process: spawns the host under Node's permission model, keeps it running (restarts
 * with backoff), watches its heartbeat and memory, and gives the HTTP front its endpoint while it runs.
 */
export class AppProcess implements RunningApp {
  readonly tenantId: number;
  readonly tenantDomain: string;
  readonly name: string;
  readonly config: AppConfig;
  /** `TESSERA_APP_VERSION` of this process: each deployed version has its own `AppProcess`. */
  readonly version: string;
  /** The folder the process reads: the version's own run copy when the runtime made one. */
  readonly root: string;
  private readonly launch: AppLaunch;
  private readonly options: AppProcessOptions;
  private readonly log: AppLog;
  private readonly policy = new RestartPolicy();
  private state: AppState = 'starting';
  private reason: string | undefined;
  private since = new Date();
  private restarts = 0;
  private memoryBytes: number | undefined;
  private eventLoopUtilization: number | undefined;
  private run: Run | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private nextStartAt: number | undefined;
  private waiters: Array<(status: AppStatus) => void> = [];
  private dataDir: string | undefined;
  /** Set by `retire`: the version is leaving, so its exits are not restarted nor its heartbeats reported. */
  private retirement: Promise<void> | undefined;
  /** Ends a drain under way at once (an undeploy while the old version drains). */
  private cutDrain: (() => void) | undefined;

  constructor(launch: AppLaunch, options: AppProcessOptions) {
    this.launch = launch;
    this.options = options;
    this.tenantId = launch.tenantId;
    this.tenantDomain = launch.tenantDomain;
    this.name = launch.name;
    this.config = launch.config;
    this.version = launch.version;
    this.root = launch.root;
    this.log = new AppLog(appLogFile(options.logsFolder, launch.tenantDomain, launch.name));
    this.log.onLine((stream, line) => {
      if (stream === 'stderr' && HEAP_ABORT.test(line) && this.run) {
        this.run.failure = `memory limit of ${this.config.limits.memoryMb} MiB exceeded`;
      }
    });
  }

  /** Spawns the first run; `settled()` tells how it went. */
  start(): void {
    this.spawnRun();
  }

  status(): AppStatus {
    return {
      state: this.state,
      restarts: this.restarts,
      since: this.since,
      version: this.version,
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
      ...(this.memoryBytes !== undefined ? { memoryBytes: this.memoryBytes } : {}),
      ...(this.eventLoopUtilization !== undefined ? { eventLoopUtilization: this.eventLoopUtilization } : {}),
      ...(this.run?.child.pid !== undefined ? { pid: this.run.child.pid } : {}),
    };
  }

  endpoint(): AppEndpoint | undefined {
    const run = this.run;
    if (this.state !== 'running' || !run?.pool) return undefined;
    return { socketPath: run.socketPath, key: run.key, pool: run.pool, tunnels: run.tunnels };
  }

  retryAfterS(): number {
    if (this.nextStartAt === undefined) return 1;
    return Math.max(1, Math.ceil((this.nextStartAt - Date.now()) / 1000));
  }

  settled(): Promise<AppStatus> {
    if (this.state !== 'starting') return Promise.resolve(this.status());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** SIGTERM, SIGKILL after the grace; resolves once the process is gone and the state is `stopped`. */
  async stop(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.nextStartAt = undefined;
    const run = this.run;
    this.enter('stopped', undefined);
    if (run) {
      const grace = setTimeout(() => run.child.kill('SIGKILL'), this.options.stopGraceMs ?? 5000);
      run.child.kill('SIGTERM');
      await run.exited;
      clearTimeout(grace);
    }
    // A retired version's labels are its successor's now.
    if (!this.retirement) this.options.metrics?.forget(this.tenantDomain, this.name);
    await this.log.close();
  }

  /**
   * Takes the version out of service after a newer one took its traffic: the pool stops taking requests and
   * those in flight finish (undici's `close()` waits for them), and its WebSocket tunnels stay open until
   * they close, for at most `drainMs`; then the tunnels left are closed and the process stops. `retire(0)`,
   * also while a drain is under way, stops it now. Resolves once the process is gone.
   */
  retire(drainMs: number): Promise<void> {
    if (this.retirement) {
      if (drainMs === 0) this.cutDrain?.();
      return this.retirement;
    }
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.retirement = (async () => {
      const run = this.run;
      const pool = run?.pool;
      if (run && pool && drainMs > 0) {
        // A request the front admitted to this version before the switch reaches `pool.request` within the
        // same turn of the event loop (only promise continuations lie between): one turn later it is in the
        // pool, so `close()` waits for it instead of refusing it.
        await new Promise((resolve) => setImmediate(resolve));
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, drainMs);
          this.cutDrain = resolve;
        });
        const drained = Promise.all([pool.close().catch(() => undefined), run.tunnels.whenEmpty()]).then(
          () => 'drained',
        );
        const how = await Promise.race([drained, bound.then(() => 'cut')]);
        clearTimeout(timer);
        const tunnels = run.tunnels.size;
        run.tunnels.closeAll();
        this.log.note(
          how === 'drained'
            ? 'old version drained'
            : `old version drain cut short${tunnels > 0 ? `, ${tunnels} WebSocket tunnels closed` : ''}`,
        );
      }
      await this.stop();
    })();
    return this.retirement;
  }

  private spawnRun(): void {
    const dataDir = this.ensureDataDir();
    const hostEntry = this.options.hostEntry ?? HOST_ENTRY;
    const socketPath = path.join(this.options.socketFolder, this.options.socketName());
    rmSync(socketPath, { force: true });
    const key = randomBytes(32).toString('hex');
    const child = spawn(process.execPath, hostArguments(this.launch, dataDir, hostEntry), {
      cwd: this.launch.root,
      env: hostEnvironment(this.launch, dataDir),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => {
      child.once('close', (code, signal) => {
        this.exited(run, code, signal);
        resolve();
      });
      child.once('error', (error) => {
        // The spawn itself failed: 'close' will not come.
        if (child.pid === undefined) {
          run.failure = `cannot start the process: ${error.message}`;
          this.exited(run, null, null);
          resolve();
        }
      });
    });
    const startTimeoutS = this.config.limits.startTimeoutS;
    const run: Run = {
      child,
      socketPath,
      key,
      exited,
      tunnels: new OpenTunnels(),
      lastBeat: Date.now(),
      startDeadline: Date.now() + startTimeoutS * 1000,
    };
    this.run = run;
    this.log.clearErrorLines();
    if (child.stdout) this.log.follow(child.stdout, 'stdout');
    if (child.stderr) this.log.follow(child.stderr, 'stderr');
    child.on('message', (message: unknown) => {
      if (isHostMessage(message)) this.received(run, message);
    });
    const settings: HostSettings = {
      type: 'settings',
      socketPath,
      key,
      keyHeader: KEY_HEADER,
      requestIdHeader: REQUEST_ID_HEADER,
      entry: path.resolve(this.launch.root, this.config.entry ?? 'index.js'),
      requestTimeoutS: this.config.limits.requestTimeoutS,
      envNames: Object.keys(this.config.env),
    };
    child.send(settings, (error) => {
      if (error) run.failure ??= `cannot send the settings: ${error.message}`;
    });
    this.startWatchdog(run);
    this.startStartTimer(run);
    this.log.note(`started pid ${child.pid ?? '?'}`);
  }

  private received(run: Run, message: HostMessage): void {
    if (run !== this.run) return;
    run.lastBeat = Date.now();
    // A retiring version's figures would overwrite those of the version that replaced it (same labels).
    if (message.type === 'heartbeat' && this.retirement) return;
    if (message.type === 'heartbeat') {
      this.memoryBytes = message.rss;
      this.eventLoopUtilization = message.elu;
      this.options.metrics?.observeProcess(this.tenantDomain, this.name, message.rss, message.elu);
    } else if (message.type === 'error') {
      run.failure = message.reason;
    } else if (message.type === 'ready' && this.state !== 'stopped' && !run.announced) {
      run.announced = true;
      void this.takeTraffic(run);
    }
  }

  /** The run has exited or been replaced, or the app stopped, while something about it was awaited. */
  private abandoned(run: Run): boolean {
    return run !== this.run || this.state === 'stopped';
  }

  /** Running once listening, or, with a `health` path, once that answers 2xx; a start failure otherwise. */
  private async takeTraffic(run: Run): Promise<void> {
    const { Pool } = await undici();
    if (this.abandoned(run)) return;
    const pool = new Pool('http://app', {
      socketPath: run.socketPath,
      connections: this.config.limits.maxConcurrent,
    });
    run.pool = pool;
    const { health } = this.config;
    if (health !== undefined) {
      const healthy = await waitUntilHealthy(
        pool,
        health,
        run.key,
        run.startDeadline,
        () => this.abandoned(run),
        (last) => {
          run.lastHealth = last;
        },
      );
      // Not healthy by the deadline: the start timer fails the run (it fires as the checks end).
      if (this.abandoned(run) || !healthy) return;
    }
    clearTimeout(run.startTimer);
    run.readyAt = Date.now();
    this.nextStartAt = undefined;
    this.enter('running', undefined);
  }

  /**
   * No heartbeat for the request timeout (at least 2 s) plus one heartbeat period: the event loop has been
   * blocked that long, so the run is killed. The period is added because the last beat may have come up to
   * one period before the loop blocked; without it the kill could come before the front's timeout, and the
   * request that blocked the loop would get 502 instead of its 504.
   */
  private startWatchdog(run: Run): void {
    const limitS = Math.max(MIN_WATCHDOG_S, this.config.limits.requestTimeoutS);
    run.watchdog = setInterval(() => {
      if (Date.now() - run.lastBeat <= limitS * 1000 + HEARTBEAT_MS) return;
      run.failure = `event loop blocked for more than ${limitS} s`;
      this.log.note(`killing pid ${run.child.pid ?? '?'}: ${run.failure}`);
      run.child.kill('SIGKILL');
      clearInterval(run.watchdog);
    }, 250);
    run.watchdog.unref();
  }

  /**
   * `start_timeout_s` after the spawn, a run that is not `running` (its entry still loading, say a
   * top-level await that never resolves, or its health path not yet 2xx) is a failed start: killed, and
   * its exit reports why, as any start that failed.
   */
  private startStartTimer(run: Run): void {
    const limitS = this.config.limits.startTimeoutS;
    run.startTimer = setTimeout(() => {
      if (this.abandoned(run) || run.readyAt !== undefined) return;
      const { health } = this.config;
      const where =
        run.announced && health !== undefined
          ? `health check ${health} did not answer 2xx (last: ${run.lastHealth ?? 'no answer'})`
          : 'its entry had not finished loading';
      run.failure = `did not become ready within ${limitS} s: ${where}`;
      this.log.note(`killing pid ${run.child.pid ?? '?'}: ${run.failure}`);
      run.child.kill('SIGKILL');
    }, limitS * 1000);
    run.startTimer.unref();
  }

  private exited(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    clearInterval(run.watchdog);
    clearTimeout(run.startTimer);
    void run.pool?.destroy().catch(() => {});
    rmSync(run.socketPath, { force: true });
    if (run !== this.run) return;
    this.run = undefined;
    const why = run.failure ?? this.describeExit(code, signal);
    this.log.note(`pid ${run.child.pid ?? '?'} exited (${signal ?? `code ${code}`}): ${why}`);
    if (this.state === 'stopped') return;
    if (this.retirement) {
      // Leaving anyway: no restart; `stop()` (which `retire` ends with) finds the run gone.
      this.enter('stopped', why);
      return;
    }
    this.memoryBytes = undefined;
    this.eventLoopUtilization = undefined;
    const readyFor = run.readyAt === undefined ? undefined : Date.now() - run.readyAt;
    this.policy.failed(readyFor);
    if (readyFor === undefined) {
      this.enter('error', why);
    } else if (this.policy.crashLoop) {
      this.enter('error', `crashed ${this.policy.consecutiveFailures} times without a stable run: ${why}`);
    } else {
      this.enter('restarting', why);
    }
    this.options.logger.warn(
      { tenant: this.tenantDomain, app: this.name, state: this.state, reason: why },
      'app process exited',
    );
    const delay = this.policy.delayMs();
    this.nextStartAt = Date.now() + delay;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts += 1;
      this.options.metrics?.countRestart(this.tenantDomain, this.name);
      // `error` stays visible while it tries again; a restart after a crash shows as `starting`.
      if (this.state === 'restarting') this.enter('starting', this.reason);
      this.spawnRun();
    }, delay);
  }

  private describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    const lines = this.log.lastErrorLines();
    // Node prints the source line and a caret before an uncaught error: start at the error itself.
    const errorAt = lines.findLastIndex((line) => /^\w*(Error|Exception)\b.*:/.test(line));
    const tail = readableLines(
      lines.slice(Math.max(0, errorAt)).filter((line) => line.trim() !== ''),
      this.launch.root,
    );
    return tail.length ? `${how}: ${tail.join('\n')}` : how;
  }

  private enter(state: AppState, reason: string | undefined): void {
    if (state !== this.state) this.since = new Date();
    this.state = state;
    this.reason = reason;
    if (state !== 'starting') {
      const status = this.status();
      for (const waiter of this.waiters.splice(0)) waiter(status);
    }
  }

  private ensureDataDir(): string {
    if (this.dataDir) return this.dataDir;
    mkdirSync(this.launch.dataDir, { recursive: true, mode: PRIVATE_FOLDER_MODE });
    // The permission model compares real paths.
    this.dataDir = realpathSync(this.launch.dataDir);
    return this.dataDir;
  }
}
