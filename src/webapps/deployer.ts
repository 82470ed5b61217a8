import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { TesseraError } from '../errors.js';
import { appDataFolder, type HomeLayout, SUPER_TENANT_ID, webappsFolder } from '../home/layout.js';
import { PRIVATE_FOLDER_MODE } from '../home/private-modes.js';
import { readAppConfig } from './app-config.js';
import { assertEntryInsideApp } from './app-entry.js';
import { appNameProblem } from './app-name.js';
import { AppConfigError, ArchiveRefusedError } from './errors.js';
import { FolderWatcher } from './folder-watcher.js';
import {
  assertRoomForApp,
  DEFAULT_QUOTAS,
  type DeploymentQuotas,
  extractWithinQuota,
  measureFolderWithinQuota,
  QuotaExceededError,
  type TenantUsage,
} from './quotas.js';
import type { AppConfig } from './runtime/contract.js';
import { createStagingFolder, removeFolder, replaceFolder } from './staging.js';
import type { ClusterVersions } from './versions/cluster-apps.js';
import { type AppSource, type AppSourceKind, scanWebapps } from './webapps-scan.js';

/** Tenant ids and domains, provided by the server. */
export interface TenantDirectory {
  domainOf(tenantId: number): Promise<string | undefined>;
  /** `undefined` also for inactive tenants. */
  idOf(domain: string): Promise<number | undefined>;
}

export interface DeployedApp {
  readonly name: string;
  readonly tenantId: number;
  readonly source: AppSourceKind;
  /** The folder served (its real path): the app folder itself, or where its zip was extracted. */
  readonly root: string;
  /** What was dropped into `webapps/`. */
  readonly sourcePath: string;
  /** Its `tessera-app.toml` (the defaults without one): `config.login`, `config.runtime`, ... */
  readonly config: AppConfig;
  readonly deployedAt: Date;
  /**
   * `TESSERA_APP_VERSION`: the version number the cluster gave these bytes (`1`, `2`, ...). A deployer
   * without the cluster's versions (tests, tools) gives `deployedAt` as an ISO 8601 string instead.
   */
  readonly version: string;
  /** `node` apps: their data folder (`appDataFolder`), created 0700 when deployed. */
  readonly dataDir?: string;
  /** Its expanded size when deployed (a folder app's files may change later), counted in the tenant's quota. */
  readonly bytes: number;
}

/** A `webapps/` entry the deployer would not deploy, and why (shown in the API's app list). */
export interface RefusedApp {
  readonly name: string;
  readonly entry: string;
  readonly source: AppSourceKind;
  /** The error code a client would get for it (`QUOTA_EXCEEDED`, `UNSAFE_ARCHIVE`, ...). */
  readonly error: string;
  readonly message: string;
}

/**
 * Told of every change to the deployed apps, after it is made: the application runtime starts, replaces
 * and stops app processes from it. A redeployment is `deployed` again with the new app (same tenant and
 * name); a refused new version, a removed source and a removed tenant are `undeployed`.
 */
export interface DeployListener {
  deployed(app: DeployedApp): void;
  undeployed(app: DeployedApp): void;
}

export interface DeployerOptions {
  layout: HomeLayout;
  logger: Logger;
  /** Watch `webapps/` folders and rescan them periodically; `false` deploys what is there at start only. */
  hotDeploy?: boolean;
  /** The safety-net rescan, for changes fs.watch missed. */
  rescanIntervalMs?: number;
  /** Quiet time after a change in `webapps/` before it is looked at, so a burst of events is one scan. */
  debounceMs?: number;
  /** How long a zip's size and modification time must hold still before it counts as fully written. */
  zipSettleMs?: number;
  /** Per-tenant bounds on apps (`[deployment]` in tessera.toml); defaults where not given. */
  quotas?: Partial<DeploymentQuotas>;
  /** The tenant's domain, for refusals a tenant admin reads; `tenant <id>` when not given or not found. */
  tenantDomain?: (tenantId: number) => Promise<string | undefined>;
  /**
   * While true, changes in `webapps/` wait (maintenance mode): what is deployed keeps serving, and the
   * watcher's and the rescan's changes are applied by the first rescan after it turns false.
   */
  hotDeployHeld?: () => boolean;
  /** Told of each deployment and undeployment (see `DeployListener`). */
  apps?: DeployListener;
  /**
   * The versions every node serves (`ClusterApps`): each deployment is recorded as a version, and the
   * folder is brought in line with the database when `follow` is called. Without it the folder is all.
   */
  versions?: ClusterVersions;
}

/** The cluster's versions could not be read or written: the deployment waits, what serves keeps serving. */
class VersionNotRecordedError extends Error {}

const DEFAULT_RESCAN_INTERVAL_MS = 2_000;
const DEFAULT_DEBOUNCE_MS = 100;
const DEFAULT_ZIP_SETTLE_MS = 300;

/**
 * `settled`: a zip is deployed only once it has held still for `zipSettleMs` (the watcher and the
 * periodic rescan, which may catch a zip mid-copy). `immediate`: zips are taken as complete (start,
 * and `rescan()`, whose caller knows its files are written).
 */
type ScanMode = 'settled' | 'immediate';

interface Deployment {
  app: DeployedApp;
  /** The `webapps/` entry it came from and that entry's fingerprint when deployed. */
  entry: string;
  fingerprint: string;
  /** Its number among the cluster's versions, when the deployer has them. */
  version?: number;
}

/** The last refusal of a `webapps/` entry; `key` says which state of the entry (and tenant) it was for. */
interface Refusal {
  key: string;
  app: RefusedApp;
  /**
   * Tried again on every scan even though the entry did not change: a folder app whose settings or entry
   * file are wrong. Its fingerprint covers only `tessera-app.toml`, and the missing entry file may be the
   * one still being copied in. Cheap: a folder app is read in place, never extracted.
   */
  retry: boolean;
}

interface TenantState {
  tenantId: number;
  webapps: string;
  /** Where this tenant's zips are extracted: `<home>/work/webapps/<tenantId>/`. */
  extracted: string;
  deployments: Map<string, Deployment>;
  /**
   * The last refusal logged per `webapps/` entry, with the fingerprint it applied to: the same refusal
   * is not logged (nor the same broken zip retried) on every rescan, only when the entry changes.
   */
  refusals: Map<string, Refusal>;
  /** Zips seen but not yet still for long enough: fingerprint and when it was first seen. */
  settling: Map<string, { fingerprint: string; since: number }>;
  watcher: FolderWatcher | undefined;
  /** Scans of one tenant run one after the other. */
  queue: Promise<void>;
  removed: boolean;
}

/**
 * Deploys the web applications found in each tenant's `webapps/` folder and keeps them in step with it:
 * an app appears when its folder or zip is dropped in, is redeployed when its zip or `tessera-app.toml`
 * changes, and disappears when its source is removed.
 */
export class Deployer {
  private readonly layout: HomeLayout;
  private readonly logger: Logger;
  private readonly hotDeploy: boolean;
  private readonly rescanIntervalMs: number;
  private readonly debounceMs: number;
  private readonly zipSettleMs: number;
  readonly quotas: Readonly<DeploymentQuotas>;
  private readonly tenantDomain: ((tenantId: number) => Promise<string | undefined>) | undefined;
  private readonly tenants = new Map<number, TenantState>();
  private readonly hotDeployHeld: () => boolean;
  private readonly listener: DeployListener | undefined;
  private readonly versions: ClusterVersions | undefined;
  private heldLogged = false;
  private rescanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: DeployerOptions) {
    this.layout = options.layout;
    this.logger = options.logger.child({ component: 'deployer' });
    this.hotDeploy = options.hotDeploy ?? true;
    this.rescanIntervalMs = options.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    this.debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.zipSettleMs = options.zipSettleMs ?? DEFAULT_ZIP_SETTLE_MS;
    this.quotas = Object.freeze({ ...DEFAULT_QUOTAS, ...options.quotas });
    this.tenantDomain = options.tenantDomain;
    this.hotDeployHeld = options.hotDeployHeld ?? (() => false);
    this.listener = options.apps;
    this.versions = options.versions;
  }

  /** Deploys every tenant's apps, then (with hot deploy) starts watching. */
  async start(tenantIds: number[]): Promise<void> {
    await Promise.all(tenantIds.map((tenantId) => this.addTenant(tenantId)));
    if (this.hotDeploy && !this.closed && !this.rescanTimer) {
      this.rescanTimer = setInterval(() => void this.rescanAll('settled'), this.rescanIntervalMs);
      this.rescanTimer.unref();
    }
  }

  async addTenant(tenantId: number): Promise<void> {
    if (this.closed || this.tenants.has(tenantId)) return;
    const state: TenantState = {
      tenantId,
      webapps: webappsFolder(this.layout, tenantId),
      extracted: path.join(this.layout.work, 'webapps', String(tenantId)),
      deployments: new Map(),
      refusals: new Map(),
      settling: new Map(),
      watcher: undefined,
      queue: Promise.resolve(),
      removed: false,
    };
    // Preparing the folders is the first job in the tenant's queue, so no scan can extract into the
    // folder while it is being emptied.
    const prepared = (async () => {
      await mkdir(state.webapps, { recursive: true });
      // Extracted apps are rebuildable state: start from nothing rather than trust what a crash left.
      await removeFolder(state.extracted);
    })();
    state.queue = prepared.catch(() => undefined);
    this.tenants.set(tenantId, state);
    try {
      await prepared;
    } catch (error) {
      this.tenants.delete(tenantId);
      state.removed = true;
      throw error;
    }
    if (this.hotDeploy) {
      state.watcher = new FolderWatcher(
        state.webapps,
        this.debounceMs,
        () => void this.enqueueScan(state, 'settled'),
        this.logger,
      );
      state.watcher.arm();
    }
    await this.enqueueScan(state, 'immediate', true);
  }

  /**
   * Brings the tenant's apps (every tenant's without one) in line with the versions the cluster serves,
   * then deploys what changed: another node's deploy, rollback or undeploy reaches this node through here.
   */
  async follow(tenantId?: number): Promise<void> {
    const states =
      tenantId === undefined ? [...this.tenants.values()] : [this.tenants.get(tenantId)].filter((s) => !!s);
    await Promise.all(states.map((state) => this.enqueueScan(state as TenantState, 'settled', true)));
  }

  /** Stops watching the tenant and undeploys its apps (their sources in `webapps/` are left alone). */
  async removeTenant(tenantId: number): Promise<void> {
    const state = this.tenants.get(tenantId);
    if (!state) return;
    this.tenants.delete(tenantId);
    state.removed = true;
    state.watcher?.close();
    await state.queue;
    for (const name of [...state.deployments.keys()]) await this.undeploy(state, name, 'tenant removed');
    await removeFolder(state.extracted);
  }

  app(tenantId: number, name: string): DeployedApp | undefined {
    return this.tenants.get(tenantId)?.deployments.get(name)?.app;
  }

  list(tenantId: number): DeployedApp[] {
    const deployments = this.tenants.get(tenantId)?.deployments;
    if (!deployments) return [];
    return [...deployments.values()].map((d) => d.app).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every tenant's deployed apps (the node's report of what it serves). */
  listAll(): DeployedApp[] {
    return [...this.tenants.keys()].flatMap((tenantId) => this.list(tenantId));
  }

  /** The entries of the tenant's `webapps/` that are not deployed, each with the reason. */
  refused(tenantId: number): RefusedApp[] {
    const refusals = this.tenants.get(tenantId)?.refusals;
    if (!refusals) return [];
    return [...refusals.values()].map((r) => r.app).sort((a, b) => a.entry.localeCompare(b.entry));
  }

  /** What the tenant's deployed apps take, leaving out `except` (the app about to be replaced). */
  usage(tenantId: number, except?: string): TenantUsage {
    const state = this.tenants.get(tenantId);
    return state ? othersUsage(state, except) : { apps: 0, bytes: 0 };
  }

  /** Brings every tenant in step with its `webapps/` folder now, taking zips as completely written. */
  async rescan(): Promise<void> {
    await this.rescanAll('immediate');
  }

  /** Stops watching. Deployed apps stay on disk; the next start rebuilds them anyway. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = undefined;
    for (const state of this.tenants.values()) state.watcher?.close();
    await Promise.all([...this.tenants.values()].map((state) => state.queue));
  }

  private async rescanAll(mode: ScanMode): Promise<void> {
    await Promise.all(
      [...this.tenants.values()].map((state) => {
        state.watcher?.arm();
        return this.enqueueScan(state, mode);
      }),
    );
  }

  private enqueueScan(state: TenantState, mode: ScanMode, mirror = false): Promise<void> {
    state.queue = state.queue.then(async () => {
      if (this.closed || state.removed) return;
      if (mode === 'settled' && this.heldNow()) return;
      try {
        await this.scan(state, mode, mirror);
      } catch (error) {
        this.logger.error({ tenant: state.tenantId, err: error }, 'scanning webapps failed');
      }
    });
    return state.queue;
  }

  /** Whether hot deploy waits now; says so in the log once per wait. */
  private heldNow(): boolean {
    const held = this.hotDeployHeld();
    if (held && !this.heldLogged) this.logger.info('hot deploy waits until maintenance mode is off');
    if (!held && this.heldLogged) this.logger.info('maintenance mode off: hot deploy resumes');
    this.heldLogged = held;
    return held;
  }

  /**
   * One reconciliation of a tenant's deployments with its `webapps/` folder; with `mirror`, the folder is
   * first brought in line with the cluster's versions.
   */
  private async scan(state: TenantState, mode: ScanMode, mirror = false): Promise<void> {
    let sources = await scanWebapps(state.webapps);
    let complete = new Set<string>();
    if (mirror && this.versions) {
      try {
        complete = await this.versions.mirror(state.tenantId, state.webapps, sources);
        sources = await scanWebapps(state.webapps);
      } catch (error) {
        this.logger.warn(
          { tenant: state.tenantId, reason: String(error) },
          "cannot compare the tenant's apps with the cluster's now",
        );
      }
    }
    const present = new Set(sources.map((source) => source.entry));
    for (const entry of [...state.refusals.keys()]) if (!present.has(entry)) state.refusals.delete(entry);
    for (const entry of [...state.settling.keys()]) if (!present.has(entry)) state.settling.delete(entry);

    const wanted = this.chooseSources(state, sources);
    for (const [name, deployment] of [...state.deployments]) {
      const source = wanted.get(name);
      if (!source) await this.undeploy(state, name, 'its source was removed', true);
      else if (source.entry !== deployment.entry)
        await this.undeploy(state, name, `replaced by ${source.entry}`);
    }

    let stillSettling = false;
    for (const source of wanted.values()) {
      if (state.deployments.get(source.name)?.fingerprint === source.fingerprint) continue;
      const refusal = state.refusals.get(source.entry);
      const refusedAs = refusal?.key;
      if (refusedAs === failedKey(source) && !refusal?.retry) continue;
      // A quota refusal stands until the tenant's other apps change (one undeployed makes room).
      if (refusedAs === quotaKey(source, othersUsage(state, source.name))) continue;
      const settled = complete.has(source.entry) || this.hasSettled(state, source);
      if (source.kind === 'zip' && mode === 'settled' && !settled) {
        stillSettling = true;
        continue;
      }
      state.settling.delete(source.entry);
      await this.deploy(state, source);
    }
    if (stillSettling) state.watcher?.trigger(this.zipSettleMs);
  }

  /** The one source per valid app name; refuses (with a log line) bad names and name clashes. */
  private chooseSources(state: TenantState, sources: AppSource[]): Map<string, AppSource> {
    const wanted = new Map<string, AppSource>();
    const byName = new Map<string, AppSource[]>();
    for (const source of sources) {
      const problem = appNameProblem(source.name);
      if (problem) {
        this.refuseOnce(state, source, 'name', `webapp "${source.entry}" refused: ${problem}`);
        continue;
      }
      byName.set(source.name, [...(byName.get(source.name) ?? []), source]);
    }
    for (const [name, candidates] of byName) {
      // The one already deployed keeps its place, so a later arrival is the one refused; at start the
      // folder wins over the zip. Removing the winner lets the other deploy at the next scan.
      const current = state.deployments.get(name)?.entry;
      const winner =
        candidates.find((c) => c.entry === current) ??
        candidates.find((c) => c.kind === 'folder') ??
        candidates[0];
      if (!winner) continue;
      wanted.set(name, winner);
      for (const loser of candidates) {
        if (loser === winner) continue;
        this.refuseOnce(
          state,
          loser,
          `clash:${winner.entry}`,
          `webapp "${loser.entry}" refused: app "${name}" is already deployed from "${winner.entry}"`,
        );
      }
    }
    return wanted;
  }

  private hasSettled(state: TenantState, source: AppSource): boolean {
    const seen = state.settling.get(source.entry);
    const now = Date.now();
    if (!seen || seen.fingerprint !== source.fingerprint) {
      state.settling.set(source.entry, { fingerprint: source.fingerprint, since: now });
      return false;
    }
    return now - seen.since >= this.zipSettleMs;
  }

  private async deploy(state: TenantState, source: AppSource): Promise<void> {
    const log = { tenant: state.tenantId, app: source.name, source: source.entry };
    const others = othersUsage(state, source.name);
    try {
      const tenant = await this.tenantLabel(state.tenantId);
      assertRoomForApp(this.quotas, tenant, source.name, others);
      const deployment =
        source.kind === 'zip'
          ? await this.deployZip(state, source, tenant, others)
          : await this.deployFolder(state, source, tenant, others);
      const { config, root } = deployment.app;
      if (deployment.app.dataDir)
        await mkdir(deployment.app.dataDir, { recursive: true, mode: PRIVATE_FOLDER_MODE });
      state.deployments.set(source.name, deployment);
      state.refusals.delete(source.entry);
      this.logger.info({ ...log, runtime: config.runtime, login: config.login, root }, 'webapp deployed');
      this.tell('deployed', deployment.app);
    } catch (error) {
      if (error instanceof VersionNotRecordedError) {
        // Nothing changed: what serves keeps serving, and the next scan tries again.
        this.logger.warn(
          { ...log, reason: error.message },
          'webapp not deployed yet: its version is not recorded',
        );
        return;
      }
      // The app mirrors its source: a version that cannot be deployed takes the previous one down too.
      if (state.deployments.has(source.name))
        await this.undeploy(state, source.name, 'its new version was refused');
      this.logFailure(state, source, error, others);
    }
  }

  private async deployZip(
    state: TenantState,
    source: AppSource,
    tenant: string,
    others: TenantUsage,
  ): Promise<Deployment> {
    const target = path.join(state.extracted, source.name);
    const staged = await createStagingFolder(state.extracted, source.name);
    let config: AppConfig;
    let bytes: number;
    let version: number | undefined;
    try {
      // Bounded by the app's quota and what is left of the tenant's, so even a zip dropped in by hand is
      // never extracted past them.
      const summary = await extractWithinQuota(source.path, staged, this.quotas, tenant, source.name, others);
      bytes = summary.bytes;
      config = await readAppConfig(staged);
      await assertEntryInsideApp(staged, config);
      version = await this.recordVersion(state, source);
      await replaceFolder(staged, target);
      this.logger.debug({ tenant: state.tenantId, app: source.name, ...summary }, 'webapp archive extracted');
    } catch (error) {
      await removeFolder(staged);
      throw error;
    }
    return {
      app: this.deployedApp(state, source, await realpath(target), config, bytes, version),
      entry: source.entry,
      fingerprint: source.fingerprint,
      ...(version === undefined ? {} : { version }),
    };
  }

  private async deployFolder(
    state: TenantState,
    source: AppSource,
    tenant: string,
    others: TenantUsage,
  ): Promise<Deployment> {
    const root = await realpath(source.path);
    const config = await readAppConfig(root);
    await assertEntryInsideApp(root, config);
    const bytes = await measureFolderWithinQuota(root, this.quotas, tenant, source.name, others);
    const version = await this.recordVersion(state, source);
    return {
      app: this.deployedApp(state, source, root, config, bytes, version),
      entry: source.entry,
      fingerprint: source.fingerprint,
      ...(version === undefined ? {} : { version }),
    };
  }

  /** The source's version number among the cluster's (recorded if new); none without the cluster's versions. */
  private async recordVersion(state: TenantState, source: AppSource): Promise<number | undefined> {
    if (!this.versions) return undefined;
    try {
      return await this.versions.record(state.tenantId, source);
    } catch (error) {
      throw new VersionNotRecordedError(String(error));
    }
  }

  private deployedApp(
    state: TenantState,
    source: AppSource,
    root: string,
    config: AppConfig,
    bytes: number,
    version: number | undefined,
  ): DeployedApp {
    const deployedAt = new Date();
    return {
      name: source.name,
      tenantId: state.tenantId,
      source: source.kind,
      root,
      sourcePath: source.path,
      config,
      deployedAt,
      version: version === undefined ? deployedAt.toISOString() : String(version),
      ...(config.runtime === 'node'
        ? { dataDir: appDataFolder(this.layout, state.tenantId, source.name) }
        : {}),
      bytes,
    };
  }

  /** Tells the listener; its failure is logged, never allowed to break the deployer's bookkeeping. */
  private tell(event: 'deployed' | 'undeployed', app: DeployedApp): void {
    if (!this.listener) return;
    try {
      this.listener[event](app);
    } catch (error) {
      this.logger.error({ tenant: app.tenantId, app: app.name, event, err: error }, 'app listener failed');
    }
  }

  /** How refusals name the tenant: its domain when known. */
  private async tenantLabel(tenantId: number): Promise<string> {
    try {
      const domain = await this.tenantDomain?.(tenantId);
      if (domain) return domain;
    } catch {
      // Only a label: a refusal is not worth failing over an unreachable database.
    }
    return tenantId === SUPER_TENANT_ID ? 'the super tenant' : `tenant ${tenantId}`;
  }

  /**
   * `sourceRemoved`: its source left `webapps/` (removed by hand or by the API, not taken down by a refused
   * new version or a tenant leaving), so the app leaves the cluster too, unless another node deployed a
   * newer version of it meanwhile.
   */
  private async undeploy(
    state: TenantState,
    name: string,
    reason: string,
    sourceRemoved = false,
  ): Promise<void> {
    const deployment = state.deployments.get(name);
    if (!deployment) return;
    state.deployments.delete(name);
    if (sourceRemoved && this.versions && deployment.version !== undefined) {
      try {
        await this.versions.removed(state.tenantId, name, deployment.version);
      } catch (error) {
        this.logger.warn(
          { tenant: state.tenantId, app: name, reason: String(error) },
          'the app could not be undeployed for the cluster; other nodes keep serving it',
        );
      }
    }
    // Told before the extracted files go, so the runtime starts stopping the process first. The data
    // folder stays: it outlives the app's deployments.
    this.tell('undeployed', deployment.app);
    if (deployment.app.source === 'zip') await removeFolder(path.join(state.extracted, name));
    this.logger.info(
      { tenant: state.tenantId, app: name, source: deployment.entry, reason },
      'webapp undeployed',
    );
  }

  private logFailure(state: TenantState, source: AppSource, error: unknown, others: TenantUsage): void {
    const key = error instanceof QuotaExceededError ? quotaKey(source, others) : failedKey(source);
    const retry = source.kind === 'folder' && error instanceof AppConfigError;
    const previous = state.refusals.get(source.entry);
    if (previous?.key === key) {
      previous.retry = retry;
      return;
    }
    state.refusals.set(source.entry, {
      key,
      retry,
      app: refusedApp(
        source,
        error instanceof TesseraError ? error.code : 'INTERNAL',
        error instanceof TesseraError ? error.message : 'it could not be deployed; see the server log',
      ),
    });
    const log = { tenant: state.tenantId, app: source.name, source: source.entry };
    if (error instanceof QuotaExceededError) {
      this.logger.warn({ ...log, quota: error.quota }, `webapp "${source.name}" refused: ${error.message}`);
    } else if (error instanceof ArchiveRefusedError) {
      this.logger.warn(
        { ...log, entry: error.entry, refusal: error.refusal },
        `webapp "${source.name}" refused: ${source.entry}: ${error.message}`,
      );
    } else if (error instanceof AppConfigError) {
      this.logger.warn({ ...log, file: error.file }, `webapp "${source.name}" refused: ${error.message}`);
    } else {
      this.logger.error({ ...log, err: error }, `webapp "${source.name}" could not be deployed`);
    }
  }

  private refuseOnce(state: TenantState, source: AppSource, reason: string, message: string): void {
    const key = `${reason}|${source.fingerprint}`;
    if (state.refusals.get(source.entry)?.key === key) return;
    const code = reason === 'name' ? 'BAD_REQUEST' : 'CONFLICT';
    state.refusals.set(source.entry, { key, retry: false, app: refusedApp(source, code, message) });
    this.logger.warn({ tenant: state.tenantId, app: source.name, source: source.entry }, message);
  }
}

function othersUsage(state: TenantState, except: string | undefined): TenantUsage {
  let apps = 0;
  let bytes = 0;
  for (const [name, deployment] of state.deployments) {
    if (name === except) continue;
    apps++;
    bytes += deployment.app.bytes;
  }
  return { apps, bytes };
}

function refusedApp(source: AppSource, error: string, message: string): RefusedApp {
  return { name: source.name, entry: source.entry, source: source.kind, error, message };
}

function failedKey(source: AppSource): string {
  return `failed|${source.fingerprint}`;
}

/** A quota refusal holds for this version of the entry and this use of the tenant's other apps. */
function quotaKey(source: AppSource, others: TenantUsage): string {
  return `quota|${source.fingerprint}|${others.apps}|${others.bytes}`;
}
