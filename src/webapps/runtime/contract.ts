import type { Pool } from 'undici';
import type { OpenTunnels } from './open-tunnels.js';

/**
 * What the three parts of the application runtime agree on (README, Applications; DESIGN.md section 4):
 * the app's settings (read from `tessera-app.toml` by `app-config.ts`), the supervised process that runs
 * its code (`app-process.ts`, `app-runtime.ts`, the host in `app-host/`), and the HTTP front that decides
 * each request in Tessera's process and forwards it (`http/plugins/app-proxy.ts`).
 */

/** `static`: files served by Tessera. `node`: the entry's code runs in a child process. */
export type AppRuntimeKind = 'static' | 'node';

/** `[limits]` of `tessera-app.toml`, with the defaults filled in. */
export interface AppLimits {
  /** The V8 heap of the app's process (`--max-old-space-size`); past it the process is restarted. */
  readonly memoryMb: number;
  /** Past it the client gets 504, and an event loop blocked that long gets the process restarted. */
  readonly requestTimeoutS: number;
  /** Requests in flight to the app; past it 503. */
  readonly maxConcurrent: number;
  /** The largest request body Tessera forwards; past it 413. */
  readonly maxBodyMb: number;
  /**
   * From the spawn to `running` (entry loaded, `health` answered 2xx); past it the start has failed: an
   * import that never finishes must not keep a version `starting` for ever.
   */
  readonly startTimeoutS: number;
}

export const DEFAULT_APP_LIMITS: Readonly<AppLimits> = Object.freeze({
  memoryMb: 256,
  requestTimeoutS: 30,
  maxConcurrent: 64,
  maxBodyMb: 10,
  startTimeoutS: 60,
});

export interface AppConfig {
  readonly runtime: AppRuntimeKind;
  /** The code to run, relative to the app folder (`node` only). */
  readonly entry?: string;
  /** Sign-in through the tenant's user stores before the app sees a request. */
  readonly login: boolean;
  /** A path below the app's mount answered 2xx once the app is ready for traffic. */
  readonly health?: string;
  /** `[env]`: given to the app's `process.env`, beside the `TESSERA_*` variables. */
  readonly env: Readonly<Record<string, string>>;
  readonly limits: AppLimits;
}

/** What starts one app's process: where its code is and what it may touch. */
export interface AppLaunch {
  readonly tenantId: number;
  readonly tenantDomain: string;
  readonly name: string;
  /** The real path of the app's folder (for a zip, where it was extracted); the process may read only it. */
  readonly root: string;
  /** The app's data folder, created if missing; the only folder the process may write. */
  readonly dataDir: string;
  /** `TESSERA_APP_VERSION`. */
  readonly version: string;
  readonly config: AppConfig;
}

/**
 * `starting`: the process is loading the entry. `running`: it answers. `restarting`: it stopped and waits
 * for its backoff. `error`: it failed to start or crashes in a loop (`reason` says why; restarts go on with
 * backoff). `stopped`: undeployed or shut down.
 */
export type AppState = 'starting' | 'running' | 'restarting' | 'error' | 'stopped';

export interface AppStatus {
  readonly state: AppState;
  /** Why it is not running: the first lines of the error, the exit code or signal, the limit it passed. */
  readonly reason?: string;
  /** Restarts since it was deployed. */
  readonly restarts: number;
  /** The process's resident memory at its last heartbeat. */
  readonly memoryBytes?: number;
  /** Event-loop utilisation (0..1) over the last heartbeat period. */
  readonly eventLoopUtilization?: number;
  readonly pid?: number;
  /** When it entered this state. */
  readonly since: Date;
  /** The version this process runs (`TESSERA_APP_VERSION`). */
  readonly version?: string;
}

/**
 * A redeploy as it goes on one node: the new version starts beside the one serving and takes its traffic
 * once `running`; one that fails to start is stopped and the serving one stays.
 */
export interface AppRollout {
  /** The new version while it starts beside the serving one. */
  readonly next?: { readonly version: string; readonly state: AppState; readonly since: Date };
  /** The last deploy that did not take over, until a later one does: its version and why. */
  readonly failed?: { readonly version: string; readonly reason: string; readonly at: Date };
}

/** Where a running app's process takes requests. */
export interface AppEndpoint {
  /** The Unix socket its host listens on, in a folder only Tessera's user may enter. */
  readonly socketPath: string;
  /**
   * Sent in `KEY_HEADER` with every request and upgrade; the host answers 403 to anything without it and
   * removes it before the app sees the request, so another local process cannot speak for Tessera.
   */
  readonly key: string;
  /** Keep-alive connections to `socketPath`, closed when the process goes. */
  readonly pool: Pool;
  /** Upgraded connections (WebSocket) to `socketPath`: a retiring version keeps them until its drain bound. */
  readonly tunnels: OpenTunnels;
}

export interface RunningApp {
  readonly tenantId: number;
  readonly tenantDomain: string;
  readonly name: string;
  readonly config: AppConfig;
  status(): AppStatus;
  /** `undefined` unless `running`. */
  endpoint(): AppEndpoint | undefined;
  /** Seconds until the next start attempt (for `Retry-After`), at least 1. */
  retryAfterS(): number;
  /** Resolves once the app has left `starting` (running, or failed), with its status then. */
  settled(): Promise<AppStatus>;
}

/** The running apps, by tenant and name: what the HTTP front asks for. */
export interface AppDirectory {
  get(tenantId: number, name: string): RunningApp | undefined;
}

/** The running apps as the admin API sees them: it may also wait for a deployment's process to come up. */
export interface AppDeployments extends AppDirectory {
  /**
   * Once the process of the app's latest deployment has been asked to start: resolves when it has left
   * `starting` and, on a redeploy, taken over or failed (its status then is the serving version's, with
   * `rollout` saying why it did not), or after `timeoutMs`; `undefined` when the app has no process.
   */
  settled(tenantId: number, name: string, timeoutMs: number): Promise<AppStatus | undefined>;
  /** A redeploy under way or failed (nothing when the serving version is the latest deployed). */
  rollout(tenantId: number, name: string): AppRollout | undefined;
}

/** Request metrics the HTTP front records per app (`tessera_app_requests_total`, the duration histogram). */
export interface AppRequestMetrics {
  observeRequest(tenant: string, app: string, status: number, seconds: number): void;
}

/** The header carrying `AppEndpoint.key` from Tessera to the app's host. */
export const KEY_HEADER = 'x-tessera-key';
/** Tessera's request id, given to the app and put on each line the app logs while serving the request. */
export const REQUEST_ID_HEADER = 'x-request-id';
