import { existsSync, mkdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Database } from '../db/connection.js';
import type { DatabaseTarget } from '../db/url.js';
import { isTesseraError, TesseraError } from '../errors.js';
import { type HomeLayout, SUPER_TENANT_DOMAIN, SUPER_TENANT_ID, userstoresFolder } from '../home/layout.js';
import { type FolderWatch, watchFolder } from './definitions/folder-watch.js';
import { registerStoreDomain } from './definitions/store-domains.js';
import {
  listStoreFiles,
  storeFileName,
  validateStoreDefinition,
  writeStoreFile,
} from './definitions/store-file.js';
import { type LoadedStore, loadStoreFile } from './definitions/store-loader.js';
import type { LdapSettings } from './ldap/settings.js';
import { verifyLdapDirectory } from './ldap/verify.js';
import { PRIMARY_DOMAIN } from './names.js';
import { UNREACHABLE_MESSAGE } from './reach-errors.js';
import type { UserStoreSharing } from './sharing.js';
import { StoreConnections } from './sql/connections.js';
import { primaryStore, type SqlUserStore } from './sql/sql-store.js';
import { databaseIdentityOf } from './sql/store-database.js';
import type { StoreDescription, UserStore } from './types.js';

export type { StoreDescription } from './types.js';

export interface UserStoreManagerOptions {
  /** The server database, which holds every tenant's PRIMARY store. */
  database: Database;
  layout: HomeLayout;
  logger: Logger;
  /** Watch each tenant's `userstores/` folder and apply changes while running (default true). */
  hotLoad?: boolean;
  /** How often the folders are read again in case the watcher missed something (default 5 s). */
  rescanIntervalMs?: number;
  /** Quiet time after a change before a folder is read (default 150 ms). */
  debounceMs?: number;
  /** How long opening a store's database may take (default 10 s). */
  connectTimeoutMs?: number;
  /** The cluster's cache around each store and the store definitions every node shares (none: this node's folder only). */
  sharing?: UserStoreSharing;
  /** JDBC store databases opened read-only, whatever the store files say (see `StartOptions`). */
  readOnlyDatabases?: readonly DatabaseTarget[];
  /** A tenant's domain, for refusals to name it (a tenant admin never sees numeric ids). */
  tenantDomain?: (tenantId: number) => Promise<string | undefined>;
  /**
   * While true, logins write nothing as a side effect (a legacy hash is verified, not re-hashed): the
   * maintenance mode, passed in as a question so that the stores need not know where it comes from.
   */
  loginWritesSkipped?: () => boolean;
}

/** A secondary store to create, as the API takes it. */
export interface NewStoreDefinition {
  domain: string;
  type: 'jdbc' | 'ldap';
  url: string;
  readOnly: boolean;
  description?: string | undefined;
  /** An LDAP store's settings; those left out take their defaults. */
  ldap?: Partial<LdapSettings> | undefined;
}

/**
 * Which stores that failed to load a sync tries again: none (a change in the folder), those whose backoff
 * is over (the periodic rescan), or all of them (an explicit rescan: someone asks for it now).
 */
type RetryFailed = 'none' | 'due' | 'all';
const RETRY_ORDER: Record<RetryFailed, number> = { none: 0, due: 1, all: 2 };

interface PendingSync {
  retryFailed: RetryFailed;
  done: Promise<void>;
}

interface TenantStores {
  tenantId: number;
  folder: string;
  primary: SqlUserStore;
  /** By the domain each file's name claims. */
  secondaries: Map<string, LoadedStore>;
  watch: FolderWatch | undefined;
  /** Folder syncs and store edits of one tenant run one at a time, in order. */
  queue: Promise<unknown>;
  /** A sync queued but not started yet; later requests join it instead of queueing another. */
  pending: PendingSync | undefined;
}

const PRIMARY_DESCRIPTION: StoreDescription = {
  domain: PRIMARY_DOMAIN,
  type: 'primary',
  readOnly: false,
  status: 'up',
};

/**
 * Every tenant's user stores: PRIMARY on the server database, and the secondary stores defined by the
 * files in the tenant's `userstores/` folder, kept in step with that folder while the server runs.
 */
export class UserStoreManager {
  private readonly database: Database;
  private readonly layout: HomeLayout;
  private readonly logger: Logger;
  private readonly hotLoad: boolean;
  private readonly rescanIntervalMs: number;
  private readonly debounceMs: number;
  private readonly connections: StoreConnections;
  private readonly sharing: UserStoreSharing | undefined;
  private readonly tenantDomain: ((tenantId: number) => Promise<string | undefined>) | undefined;
  private readonly loginWritesSkipped: (() => boolean) | undefined;
  private readonly tenants = new Map<number, TenantStores>();
  private rescanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: UserStoreManagerOptions) {
    this.database = options.database;
    this.layout = options.layout;
    this.logger = options.logger.child({ component: 'userstores' });
    this.hotLoad = options.hotLoad ?? true;
    this.rescanIntervalMs = options.rescanIntervalMs ?? 5_000;
    this.debounceMs = options.debounceMs ?? 150;
    this.sharing = options.sharing;
    this.tenantDomain = options.tenantDomain;
    this.loginWritesSkipped = options.loginWritesSkipped;
    this.connections = new StoreConnections(
      this.layout.root,
      options.connectTimeoutMs,
      options.database.target,
      options.readOnlyDatabases,
      () => databaseIdentityOf(options.database),
    );
  }

  async start(tenantIds: readonly number[]): Promise<void> {
    // In parallel: a tenant whose store database is slow to answer must not hold up the others.
    await Promise.all(tenantIds.map((tenantId) => this.addTenant(tenantId)));
  }

  /** Loads a tenant's stores (creating its `userstores/` folder if needed); a known tenant is left as it is. */
  async addTenant(tenantId: number): Promise<void> {
    if (this.closed) throw new TesseraError('INTERNAL', 'The user store manager is closed.');
    if (this.tenants.has(tenantId)) return;
    const folder = userstoresFolder(this.layout, tenantId);
    mkdirSync(folder, { recursive: true });
    const tenant: TenantStores = {
      tenantId,
      folder,
      primary: primaryStore(this.database.db, tenantId, this.loginWritesSkipped),
      secondaries: new Map(),
      watch: undefined,
      queue: Promise.resolve(),
      pending: undefined,
    };
    this.tenants.set(tenantId, tenant);
    if (this.hotLoad) {
      this.startWatching(tenant);
      this.startRescanTimer();
    }
    await this.requestSync(tenant, 'none');
  }

  /** Unloads a tenant's secondary stores and stops watching its folder; files and data stay. */
  async removeTenant(tenantId: number): Promise<void> {
    const tenant = this.tenants.get(tenantId);
    if (tenant === undefined) return;
    this.tenants.delete(tenantId);
    tenant.watch?.close();
    tenant.watch = undefined;
    await this.enqueue(tenant, async () => {
      for (const loaded of tenant.secondaries.values()) await this.closeStore(tenant, loaded);
      tenant.secondaries.clear();
    });
  }

  /** The store named `domain` (any case) when it is up; undefined for an unknown or failed one. */
  store(tenantId: number, domain: string): UserStore | undefined {
    const tenant = this.tenants.get(tenantId);
    if (tenant === undefined) return undefined;
    const name = domain.toUpperCase();
    const store = name === PRIMARY_DOMAIN ? tenant.primary : tenant.secondaries.get(name)?.store;
    return store && this.shared(tenantId, store);
  }

  /** The tenant's stores that are up: PRIMARY first, then the secondary stores by domain. */
  stores(tenantId: number): UserStore[] {
    const tenant = this.tenants.get(tenantId);
    if (tenant === undefined) return [];
    const secondaries = this.sortedSecondaries(tenant).flatMap((loaded) =>
      loaded.store ? [loaded.store] : [],
    );
    return [tenant.primary, ...secondaries].map((store) => this.shared(tenantId, store));
  }

  /** A store as callers get it: behind the cluster's cache when there is one. */
  private shared(tenantId: number, store: UserStore): UserStore {
    return this.sharing ? this.sharing.decorate(tenantId, store) : store;
  }

  /**
   * Every store of the tenant, up or not, in the order of `stores`. Without `detailed` (anyone but the
   * super tenant's admin), a store that could not reach its database or directory says so without the
   * driver's reason; a broken file or a refused definition still says what to fix.
   */
  describe(tenantId: number, options: { detailed?: boolean } = {}): StoreDescription[] {
    const tenant = this.tenants.get(tenantId);
    if (tenant === undefined) return [];
    const detailed = options.detailed ?? true;
    return [
      { ...PRIMARY_DESCRIPTION },
      ...this.sortedSecondaries(tenant).map((loaded) =>
        loaded.reachFailure === true && !detailed
          ? { ...loaded.description, error: UNREACHABLE_MESSAGE }
          : { ...loaded.description },
      ),
    ];
  }

  /**
   * Adds a secondary store: checks the definition and that its database answers (writing nothing when it
   * does not), records the domain, writes the file and loads it at once.
   */
  async createStore(tenantId: number, input: NewStoreDefinition): Promise<StoreDescription> {
    const tenant = this.requireTenant(tenantId);
    const definition = validateStoreDefinition({
      domain: typeof input.domain === 'string' ? input.domain.toUpperCase() : input.domain,
      type: input.type,
      url: input.url,
      readOnly: input.readOnly,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.ldap === undefined ? {} : { ldap: input.ldap }),
    });
    const { domain } = definition;
    return this.enqueue(tenant, async () => {
      const file = path.join(tenant.folder, storeFileName(domain));
      const taken = async () =>
        new TesseraError(
          'CONFLICT',
          `${await this.tenantName(tenantId)} already has a user store ${domain}.`,
        );
      if (tenant.secondaries.has(domain) || existsSync(file)) throw await taken();
      // Held until the store itself holds the connection, so that it is opened once.
      const probe = definition.type === 'ldap' ? undefined : await this.connections.acquire(definition.url);
      if (definition.type === 'ldap') await verifyLdapDirectory(definition.url, definition.ldap);
      try {
        await registerStoreDomain(this.database.db, tenantId, domain);
        // Another node created it first: the same refusal as for one this node knows.
        await this.sharing?.created(tenantId, definition).catch(async (error: unknown) => {
          throw isTesseraError(error, 'CONFLICT') ? await taken() : error;
        });
        await writeStoreFile(tenant.folder, definition);
        await this.syncFile(tenant, domain, file, 'none');
      } finally {
        await probe?.release();
      }
      this.logger.info({ tenantId, store: domain }, 'user store created');
      const loaded = tenant.secondaries.get(domain);
      if (loaded === undefined)
        throw new TesseraError('INTERNAL', `User store ${domain} vanished while being created.`);
      return { ...loaded.description };
    });
  }

  /** Removes a secondary store's file and unloads it; its database and data are left as they are. */
  async deleteStore(tenantId: number, domain: string): Promise<void> {
    const tenant = this.requireTenant(tenantId);
    const name = domain.toUpperCase();
    if (name === PRIMARY_DOMAIN)
      throw new TesseraError('BAD_REQUEST', 'The PRIMARY user store cannot be removed.');
    await this.enqueue(tenant, async () => {
      const loaded = tenant.secondaries.get(name);
      const file = loaded?.file ?? path.join(tenant.folder, storeFileName(name));
      if (loaded === undefined && !existsSync(file)) {
        throw new TesseraError('NOT_FOUND', `${await this.tenantName(tenantId)} has no user store ${name}.`);
      }
      await this.sharing?.removed(tenantId, name);
      await rm(file, { force: true });
      if (loaded !== undefined) {
        tenant.secondaries.delete(name);
        await this.closeStore(tenant, loaded);
      }
      this.logger.info({ tenantId, store: name }, 'user store removed');
    });
  }

  /**
   * Reads the folders again now (one tenant's, or every tenant's) and tries stores whose database or
   * directory was unreachable once more, whatever their backoff (the periodic safety net respects it).
   */
  /**
   * Reads the folders again now. An explicit rescan retries every failed store at once; a rescan on
   * another node's word (`{ dueOnly: true }`) keeps each unreachable directory's backoff.
   */
  async rescan(tenantId?: number, options: { dueOnly?: boolean } = {}): Promise<void> {
    const tenants = tenantId === undefined ? [...this.tenants.values()] : [this.requireTenant(tenantId)];
    const retry: RetryFailed = options.dueOnly === true ? 'due' : 'all';
    await Promise.all(tenants.map((tenant) => this.requestSync(tenant, retry)));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.rescanTimer);
    this.rescanTimer = undefined;
    for (const tenantId of [...this.tenants.keys()]) await this.removeTenant(tenantId);
    await this.connections.closeAll();
  }

  private requireTenant(tenantId: number): TenantStores {
    const tenant = this.tenants.get(tenantId);
    if (tenant === undefined)
      throw new TesseraError('NOT_FOUND', "This tenant's user stores are not loaded on this node.");
    return tenant;
  }

  /** `Tenant acme.com`: how refusals name a tenant, by its domain (the id only if that cannot be read). */
  private async tenantName(tenantId: number): Promise<string> {
    if (tenantId === SUPER_TENANT_ID) return `Tenant ${SUPER_TENANT_DOMAIN}`;
    const domain = await this.tenantDomain?.(tenantId).catch(() => undefined);
    return domain === undefined ? `Tenant ${tenantId}` : `Tenant ${domain}`;
  }

  private sortedSecondaries(tenant: TenantStores): LoadedStore[] {
    return [...tenant.secondaries.values()].sort((a, b) =>
      a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0,
    );
  }

  private enqueue<T>(tenant: TenantStores, work: () => Promise<T>): Promise<T> {
    const result = tenant.queue.then(work);
    tenant.queue = result.catch(() => {});
    return result;
  }

  private requestSync(tenant: TenantStores, retryFailed: RetryFailed): Promise<void> {
    if (tenant.pending !== undefined) {
      if (RETRY_ORDER[retryFailed] > RETRY_ORDER[tenant.pending.retryFailed])
        tenant.pending.retryFailed = retryFailed;
      return tenant.pending.done;
    }
    const pending: PendingSync = { retryFailed, done: Promise.resolve() };
    tenant.pending = pending;
    pending.done = this.enqueue(tenant, () => {
      tenant.pending = undefined;
      return this.sync(tenant, pending.retryFailed);
    });
    return pending.done;
  }

  /** Brings the tenant's loaded stores in line with its folder: load new files, reload changed ones, unload gone ones. */
  private async sync(tenant: TenantStores, retryFailed: RetryFailed): Promise<void> {
    if (this.tenants.get(tenant.tenantId) !== tenant) return;
    const held = (await this.sharing?.reconcile(tenant.tenantId, tenant.folder)) ?? new Set<string>();
    const files = await listStoreFiles(tenant.folder);
    for (const [domain, loaded] of tenant.secondaries) {
      if (files.has(domain) || held.has(domain)) continue;
      tenant.secondaries.delete(domain);
      await this.closeStore(tenant, loaded);
      this.logger.info({ tenantId: tenant.tenantId, store: domain }, 'user store unloaded: its file is gone');
    }
    for (const [domain, file] of files)
      if (!held.has(domain)) await this.syncFile(tenant, domain, file, retryFailed);
    // The folder may have been removed and created again since the watch broke.
    if (this.hotLoad && tenant.watch === undefined && existsSync(tenant.folder)) this.startWatching(tenant);
  }

  private async syncFile(
    tenant: TenantStores,
    domain: string,
    file: string,
    retryFailed: RetryFailed,
  ): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      // Gone between listing and reading (the next sync unloads it), or unreadable: keep what is loaded.
      this.logger.warn(
        { tenantId: tenant.tenantId, store: domain, file, reason: String(error) },
        'cannot read user store file',
      );
      return;
    }
    const current = tenant.secondaries.get(domain);
    const unchanged = current !== undefined && current.text === text;
    const due =
      retryFailed === 'all' ||
      (retryFailed === 'due' && (current?.retryAt === undefined || current.retryAt <= Date.now()));
    if (unchanged && !(due && current.retryable)) return;
    const next = await loadStoreFile(
      {
        tenantId: tenant.tenantId,
        connections: this.connections,
        logger: this.logger,
        previousError: unchanged ? current.description.error : undefined,
        previousFailures: unchanged ? current.failures : undefined,
        loginWritesSkipped: this.loginWritesSkipped,
      },
      domain,
      file,
      text,
    );
    tenant.secondaries.set(domain, next);
    // Closed after the new store is loaded, so that a connection both use stays open.
    if (current !== undefined) await this.closeStore(tenant, current);
  }

  private async closeStore(tenant: TenantStores, loaded: LoadedStore): Promise<void> {
    try {
      await loaded.store?.close();
    } catch (error) {
      this.logger.warn(
        { tenantId: tenant.tenantId, store: loaded.domain, reason: String(error) },
        'closing a user store failed',
      );
    }
  }

  private startWatching(tenant: TenantStores): void {
    try {
      tenant.watch = watchFolder(
        tenant.folder,
        () => {
          this.requestSync(tenant, 'none').catch((error: unknown) => this.syncFailed(tenant, error));
        },
        {
          debounceMs: this.debounceMs,
          onError: (error) => {
            tenant.watch = undefined;
            this.logger.warn(
              { tenantId: tenant.tenantId, folder: tenant.folder, reason: error.message },
              'stopped watching user store folder',
            );
          },
        },
      );
    } catch (error) {
      // The periodic rescan still notices changes, and tries to watch again.
      this.logger.warn(
        { tenantId: tenant.tenantId, folder: tenant.folder, reason: String(error) },
        'cannot watch user store folder',
      );
    }
  }

  private startRescanTimer(): void {
    if (this.rescanTimer !== undefined) return;
    this.rescanTimer = setInterval(() => {
      for (const tenant of this.tenants.values()) {
        this.requestSync(tenant, 'due').catch((error: unknown) => this.syncFailed(tenant, error));
      }
    }, this.rescanIntervalMs);
    // The safety net must not keep the process alive on its own.
    this.rescanTimer.unref();
  }

  private syncFailed(tenant: TenantStores, error: unknown): void {
    this.logger.error(
      { tenantId: tenant.tenantId, folder: tenant.folder, reason: String(error) },
      'reading user store folder failed',
    );
  }
}
