import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { type Database, openDatabase } from '../db/connection.js';
import { redactDatabaseUrl } from '../db/url.js';
import { isTesseraError, TesseraError } from '../errors.js';
import { isAtOrBelow, normaliseRegistryPath } from './paths.js';
import { ensureMountSchema, type RegistrySchema } from './schema.js';

export interface RegistryMountConfig {
  /** The registry path whose subtree lives in the other database. */
  path: string;
  /** That database's URL (SQLite paths relative to the home). */
  url: string;
}

export interface NewResource {
  content: Buffer;
  mediaType: string;
  properties?: Record<string, string>;
  /** Who writes it (a qualified user name). */
  actor: string;
}

export interface Resource {
  path: string;
  version: number;
  mediaType: string;
  content: Buffer;
  properties: Record<string, string>;
  createdBy: string;
  createdAt: Date;
}

export interface ResourceVersion {
  version: number;
  mediaType: string;
  size: number;
  createdBy: string;
  createdAt: Date;
}

export interface MountStatus {
  path: string;
  database: string;
  status: 'up' | 'error';
  error?: string;
}

interface Mount {
  path: string;
  url: string;
  label: string;
  database?: Database<RegistrySchema>;
  error?: string;
  lastAttempt: number;
  connecting?: Promise<void>;
}

/** Where one path's rows live: the server database or a mount's. */
interface Store {
  db: Kysely<RegistrySchema>;
  mount?: Mount;
}

/** A down mount is tried again at most this often, so that a dead host does not slow every request. */
const RETRY_MS = 10_000;
const INSERT_ATTEMPTS = 5;
/** How long a start waits for the mounts' databases. */
const OPEN_WAIT_MS = 5_000;

/**
 * Tenant-scoped, versioned resources (README, Registry): every write of a path adds a version with its content and
 * properties. Paths at or below a mount live in the mount's database; the longest mount path wins. Every
 * query is filtered by tenant id, in every database.
 */
export class Registry {
  private readonly mounts: Mount[];
  private closed = false;

  private constructor(
    private readonly server: Kysely<RegistrySchema>,
    mounts: RegistryMountConfig[],
    private readonly home: string,
    private readonly logger: Logger | undefined,
  ) {
    this.mounts = mounts
      .map((m) => ({
        path: normaliseRegistryPath(m.path),
        url: m.url,
        label: redactDatabaseUrl(m.url),
        lastAttempt: 0,
      }))
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** Opens the registry; a mount that cannot be reached is logged and reported by operations under it. */
  static async open(options: {
    database: Database;
    mounts?: RegistryMountConfig[];
    home: string;
    logger?: Logger;
  }): Promise<Registry> {
    const registry = new Registry(
      options.database.db as unknown as Kysely<RegistrySchema>,
      options.mounts ?? [],
      options.home,
      options.logger,
    );
    // A host that swallows packets must not hold the start up: such a mount keeps connecting behind it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(registry.mounts.map((mount) => registry.connect(mount))),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, OPEN_WAIT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    return registry;
  }

  describeMounts(): MountStatus[] {
    return this.mounts.map((m) => ({
      path: m.path,
      database: m.label,
      status: m.database ? 'up' : 'error',
      ...(m.error === undefined ? {} : { error: m.error }),
    }));
  }

  async close(): Promise<void> {
    // A mount still connecting to a silent host is not waited for: it closes itself when it gets through.
    this.closed = true;
    for (const mount of this.mounts) {
      const database = mount.database;
      mount.database = undefined;
      await database?.close().catch(() => {});
    }
  }

  async put(tenantId: number, rawPath: string, resource: NewResource): Promise<Resource> {
    const path = normaliseRegistryPath(rawPath);
    const mediaType = resource.mediaType.trim();
    if (mediaType.length === 0 || mediaType.length > 255)
      throw new TesseraError('BAD_REQUEST', 'A media type must have 1 to 255 characters.');
    const properties = resource.properties ?? {};
    for (const name of Object.keys(properties)) {
      if (name.length === 0 || name.length > 255)
        throw new TesseraError('BAD_REQUEST', 'A property name must have 1 to 255 characters.');
    }
    const actor = resource.actor.slice(0, 255);
    const store = await this.storeFor(path);
    const version = await this.guard(store, () =>
      this.insertVersion(store.db, tenantId, path, {
        content: resource.content,
        mediaType,
        properties,
        actor,
      }),
    );
    return (await this.get(tenantId, path, version)) as Resource;
  }

  /** The latest version of a path, or the given one; undefined when there is none. */
  async get(tenantId: number, rawPath: string, version?: number): Promise<Resource | undefined> {
    const path = normaliseRegistryPath(rawPath);
    const store = await this.storeFor(path);
    return this.guard(store, async () => {
      let query = store.db
        .selectFrom('registry_resources')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('path', '=', path);
      query =
        version === undefined
          ? query.orderBy('version', 'desc').limit(1)
          : query.where('version', '=', version);
      const row = await query.executeTakeFirst();
      if (!row) return undefined;
      const properties = await store.db
        .selectFrom('registry_properties')
        .select(['name', 'value'])
        .where('resource_id', '=', row.id)
        .orderBy('name')
        .execute();
      return {
        path,
        version: Number(row.version),
        mediaType: row.media_type,
        content: toBuffer(row.content),
        properties: Object.fromEntries(properties.map((p) => [p.name, p.value])),
        createdBy: row.created_by,
        createdAt: new Date(Number(row.created_at)),
      };
    });
  }

  /** Every version of a path, oldest first; empty when the path has none. */
  async versions(tenantId: number, rawPath: string): Promise<ResourceVersion[]> {
    const path = normaliseRegistryPath(rawPath);
    const store = await this.storeFor(path);
    return this.guard(store, async () => {
      const rows = await store.db
        .selectFrom('registry_resources')
        .select([
          'version',
          'media_type',
          'created_by',
          'created_at',
          sql<number>`length(content)`.as('size'),
        ])
        .where('tenant_id', '=', tenantId)
        .where('path', '=', path)
        .orderBy('version')
        .execute();
      return rows.map((r) => ({
        version: Number(r.version),
        mediaType: r.media_type,
        size: Number(r.size),
        createdBy: r.created_by,
        createdAt: new Date(Number(r.created_at)),
      }));
    });
  }

  /** Adds a version with an earlier version's content and properties; NOT_FOUND when there is no such version. */
  async restore(tenantId: number, rawPath: string, version: number, actor: string): Promise<Resource> {
    const old = await this.get(tenantId, rawPath, version);
    if (!old) throw new TesseraError('NOT_FOUND', `No version ${version} of ${rawPath} in the registry.`);
    return this.put(tenantId, old.path, {
      content: old.content,
      mediaType: old.mediaType,
      properties: old.properties,
      actor,
    });
  }

  /** Removes every version of a path (not what lies below it); false when it had none. */
  async delete(tenantId: number, rawPath: string): Promise<boolean> {
    const path = normaliseRegistryPath(rawPath);
    const store = await this.storeFor(path);
    return this.guard(store, () =>
      store.db.transaction().execute(async (trx) => {
        const ids = trx
          .selectFrom('registry_resources')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('path', '=', path);
        // MariaDB refuses a DELETE whose subquery reads the same table, so the ids are read first.
        const found = (await ids.execute()).map((r) => r.id);
        if (found.length === 0) return false;
        await trx.deleteFrom('registry_properties').where('resource_id', 'in', found).execute();
        await trx
          .deleteFrom('registry_resources')
          .where('tenant_id', '=', tenantId)
          .where('path', '=', path)
          .execute();
        return true;
      }),
    );
  }

  /**
   * The paths directly below a folder path (resources, folders holding resources, and mount points), sorted.
   */
  async list(tenantId: number, rawFolder: string): Promise<string[]> {
    const folder = normaliseRegistryPath(rawFolder, { allowRoot: true });
    const base = folder === '/' ? '/' : `${folder}/`;
    const children = new Set<string>();
    const childOf = (path: string) => {
      const next = path.slice(base.length).split('/')[0] as string;
      return `${base}${next}`;
    };
    const store = await this.storeFor(folder);
    const width = [...base].length;
    const paths = await this.guard(store, async () =>
      (
        await store.db
          .selectFrom('registry_resources')
          .select('path')
          .distinct()
          .where('tenant_id', '=', tenantId)
          .where(sql<string>`substr(path, 1, ${width})`, '=', base)
          .execute()
      ).map((r) => r.path),
    );
    for (const path of paths) {
      // Rows a mount below the folder took over are not this store's to show.
      if (path.length > base.length && this.mountOf(path) === store.mount) children.add(childOf(path));
    }
    for (const mount of this.mounts) {
      if (mount.path !== folder && isAtOrBelow(mount.path, folder)) children.add(childOf(mount.path));
    }
    return [...children].sort();
  }

  private async insertVersion(
    db: Kysely<RegistrySchema>,
    tenantId: number,
    path: string,
    resource: { content: Buffer; mediaType: string; properties: Record<string, string>; actor: string },
  ): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().execute(async (trx) => {
          const latest = await trx
            .selectFrom('registry_resources')
            .select((eb) => eb.fn.max('version').as('latest'))
            .where('tenant_id', '=', tenantId)
            .where('path', '=', path)
            .executeTakeFirst();
          const version = Number(latest?.latest ?? 0) + 1;
          await trx
            .insertInto('registry_resources')
            .values({
              tenant_id: tenantId,
              path,
              version,
              media_type: resource.mediaType,
              content: resource.content,
              created_by: resource.actor,
              created_at: Date.now(),
            })
            .execute();
          // No RETURNING on MariaDB: the row is found again by its unique key.
          const { id } = await trx
            .selectFrom('registry_resources')
            .select('id')
            .where('tenant_id', '=', tenantId)
            .where('path', '=', path)
            .where('version', '=', version)
            .executeTakeFirstOrThrow();
          const properties = Object.entries(resource.properties);
          if (properties.length > 0) {
            await trx
              .insertInto('registry_properties')
              .values(properties.map(([name, value]) => ({ resource_id: id, name, value })))
              .execute();
          }
          return version;
        });
      } catch (error) {
        // Two writers took the same next version: the loser tries again with the one after.
        if (attempt < INSERT_ATTEMPTS && /unique|duplicate/i.test((error as Error).message)) continue;
        throw error;
      }
    }
  }

  private mountOf(path: string): Mount | undefined {
    return this.mounts.find((m) => isAtOrBelow(path, m.path));
  }

  private async storeFor(path: string): Promise<Store> {
    const mount = this.mountOf(path);
    if (!mount) return { db: this.server };
    if (!mount.database && !this.closed && Date.now() - mount.lastAttempt >= RETRY_MS)
      await this.connect(mount);
    if (!mount.database) {
      throw new TesseraError(
        'STORE_UNAVAILABLE',
        `The registry mount ${mount.path} (${mount.label}) is unavailable: ${mount.error ?? 'not connected'}.`,
      );
    }
    return { db: mount.database.db, mount };
  }

  /** Runs one operation; a mount's database failing under it answers STORE_UNAVAILABLE. */
  private async guard<T>(store: Store, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const mount = store.mount;
      if (!mount || isTesseraError(error)) throw error;
      this.logger?.error({ err: error, mount: mount.path }, 'registry mount operation failed');
      throw new TesseraError(
        'STORE_UNAVAILABLE',
        `The registry mount ${mount.path} (${mount.label}) failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  private connect(mount: Mount): Promise<void> {
    mount.connecting ??= (async () => {
      mount.lastAttempt = Date.now();
      let database: Database<RegistrySchema> | undefined;
      try {
        database = await openDatabase<RegistrySchema>(mount.url, this.home);
        await ensureMountSchema(database);
        if (this.closed) {
          await database.close();
          return;
        }
        mount.database = database;
        mount.error = undefined;
        this.logger?.info({ mount: mount.path, database: mount.label }, 'registry mount connected');
      } catch (error) {
        await database?.close().catch(() => {});
        mount.error = (error as Error).message;
        this.logger?.error(
          { err: error, mount: mount.path, database: mount.label },
          'registry mount unavailable; operations under it fail until it is reachable',
        );
      }
    })().finally(() => {
      mount.connecting = undefined;
    });
    return mount.connecting;
  }
}

function toBuffer(value: Uint8Array | string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'binary');
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
