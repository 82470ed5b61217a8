import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';
import { writeRow } from '../../db/write-row.js';
import { TesseraError } from '../../errors.js';

/** A version's zip is stored in pieces of this size: MariaDB refuses a packet over 16 MiB by default. */
export const CHUNK_BYTES = 1024 * 1024;

/** How a version reached the cluster. */
export type VersionOrigin = 'upload' | 'zip' | 'folder' | 'rollback';

export interface StoredVersion {
  version: number;
  checksum: string;
  sizeBytes: number;
  origin: string;
  deployedBy: string;
  deployedAt: Date;
  /** Why it did not start on the node that deployed it (it was then not made current, or taken back). */
  failure?: string;
  /** Its bytes were removed past `deployment.keep_versions`: it can no longer be rolled back to. */
  prunedAt?: Date;
}

/** The version of an app every node serves. */
export interface CurrentVersion {
  name: string;
  version: number;
  checksum: string;
}

export interface RecordedVersion {
  version: number;
  checksum: string;
  /** False when the bytes were the current version's already: nothing was written. */
  created: boolean;
}

/** Two nodes numbering a new version at once: the loser numbers again. */
const RECORD_ATTEMPTS = 5;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The apps of every tenant as the cluster serves them: each deploy a numbered version whose zip is kept in
 * the database (tables `webapp_versions`, `webapp_version_chunks`), and per app the version current now
 * (`webapps`). Version numbers are never given twice for one app, even after an undeploy, so a number always
 * names the same bytes on every node.
 */
export class AppVersionStore {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly keepVersions: number,
  ) {}

  /**
   * Makes `bytes` the app's current version: a new version unless they are the current one's already.
   * Versions past `keepVersions` (never the current one) lose their bytes. With `makeCurrent: false` the
   * new version is only stored (an upload not yet started where it was made): `publish` makes it current.
   */
  async record(
    tenantId: number,
    name: string,
    bytes: Uint8Array,
    meta: { origin: VersionOrigin; deployedBy: string; makeCurrent?: boolean },
  ): Promise<RecordedVersion> {
    const checksum = sha256Hex(bytes);
    for (let attempt = 1; ; attempt++) {
      try {
        const recorded = await this.db.transaction().execute(async (trx) => {
          const current = await currentOf(trx, tenantId, name);
          if (current?.checksum === checksum) return { version: current.version, checksum, created: false };
          const last = await trx
            .selectFrom('webapp_versions')
            .select((eb) => eb.fn.max('version').as('last'))
            .where('tenant_id', '=', tenantId)
            .where('name', '=', name)
            .executeTakeFirst();
          const version = Number(last?.last ?? 0) + 1;
          const now = Date.now();
          await trx
            .insertInto('webapp_versions')
            .values({
              tenant_id: tenantId,
              name,
              version,
              checksum,
              size_bytes: bytes.length,
              origin: meta.origin,
              deployed_by: meta.deployedBy,
              deployed_at: now,
              failure: null,
              pruned_at: null,
            })
            .execute();
          // One row per statement: several chunks in one INSERT could pass the engine's packet limit.
          for (let seq = 0; seq * CHUNK_BYTES < bytes.length || seq === 0; seq++) {
            await trx
              .insertInto('webapp_version_chunks')
              .values({
                tenant_id: tenantId,
                name,
                version,
                seq,
                bytes: bytes.subarray(seq * CHUNK_BYTES, (seq + 1) * CHUNK_BYTES),
              })
              .execute();
          }
          if (meta.makeCurrent !== false)
            await setCurrentIn(trx, tenantId, name, version, meta.deployedBy, now);
          return { version, checksum, created: true };
        });
        if (recorded.created && meta.makeCurrent !== false) await this.prune(tenantId, name);
        return recorded;
      } catch (error) {
        // Another node numbered the same version first (a duplicate key): number again.
        if (attempt >= RECORD_ATTEMPTS || !(await this.versionTaken(tenantId, name, error))) throw error;
      }
    }
  }

  /** The current version of each of the tenant's apps. */
  async current(tenantId: number): Promise<CurrentVersion[]> {
    const rows = await currentVersions(this.db).where('w.tenant_id', '=', tenantId).execute();
    return rows.map((r) => ({ name: r.name, version: Number(r.current_version), checksum: r.checksum }));
  }

  /** The current version of every tenant's apps, by tenant id: one query for a node's periodic check. */
  async currentAll(): Promise<Map<number, CurrentVersion[]>> {
    const rows = await currentVersions(this.db).select('w.tenant_id').execute();
    const byTenant = new Map<number, CurrentVersion[]>();
    for (const r of rows) {
      const tenantId = Number(r.tenant_id);
      const list = byTenant.get(tenantId) ?? [];
      list.push({ name: r.name, version: Number(r.current_version), checksum: r.checksum });
      byTenant.set(tenantId, list);
    }
    return byTenant;
  }

  /** The current version of one app, or undefined when it is not deployed. */
  async currentOf(tenantId: number, name: string): Promise<CurrentVersion | undefined> {
    return currentOf(this.db, tenantId, name);
  }

  /** Every version of the app the database knows, newest first. */
  async versions(tenantId: number, name: string): Promise<StoredVersion[]> {
    const rows = await this.db
      .selectFrom('webapp_versions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((r) => ({
      version: Number(r.version),
      checksum: r.checksum,
      sizeBytes: Number(r.size_bytes),
      origin: r.origin,
      deployedBy: r.deployed_by,
      deployedAt: new Date(Number(r.deployed_at)),
      ...(r.failure === null ? {} : { failure: r.failure }),
      ...(r.pruned_at === null ? {} : { prunedAt: new Date(Number(r.pruned_at)) }),
    }));
  }

  /** The version numbered so whose zip is `checksum`, if the app ever had one. */
  async versionWithChecksum(tenantId: number, name: string, checksum: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('webapp_versions')
      .select('version')
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .where('checksum', '=', checksum)
      .orderBy('version', 'desc')
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.version);
  }

  /**
   * The version's zip, put together from its chunks and checked against its size and checksum: a node
   * never runs bytes the database does not vouch for.
   */
  async read(tenantId: number, name: string, version: number): Promise<Buffer> {
    const meta = await this.db
      .selectFrom('webapp_versions')
      .select(['checksum', 'size_bytes', 'pruned_at'])
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!meta) throw new TesseraError('NOT_FOUND', `App "${name}" has no version ${version}.`);
    if (meta.pruned_at !== null) throw prunedError(name, version);
    const chunks = await this.db
      .selectFrom('webapp_version_chunks')
      .select(['seq', 'bytes'])
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .where('version', '=', version)
      .orderBy('seq')
      .execute();
    const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c.bytes)));
    const checksum = sha256Hex(bytes);
    if (bytes.length !== Number(meta.size_bytes) || checksum !== meta.checksum) {
      throw new TesseraError(
        'INTERNAL',
        `Version ${version} of app "${name}" does not match its checksum in the database ` +
          `(${bytes.length} bytes, sha256 ${checksum}; recorded ${meta.size_bytes} bytes, ${meta.checksum}): not run.`,
      );
    }
    return bytes;
  }

  /** Makes a kept version current (a rollback, or an upload once it started), then prunes past `keepVersions`. */
  async setCurrent(tenantId: number, name: string, version: number, by: string): Promise<void> {
    const known = (await this.versions(tenantId, name)).find((v) => v.version === version);
    if (!known) throw new TesseraError('NOT_FOUND', `App "${name}" has no version ${version}.`);
    if (known.prunedAt) throw prunedError(name, version);
    await this.db.transaction().execute((trx) => setCurrentIn(trx, tenantId, name, version, by, Date.now()));
    await this.prune(tenantId, name);
  }

  /** Records why a version did not start where it was deployed. */
  async markFailed(tenantId: number, name: string, version: number, failure: string): Promise<void> {
    await this.db
      .updateTable('webapp_versions')
      .set({ failure: failure.slice(0, 4000) })
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .where('version', '=', version)
      .execute();
  }

  /**
   * Undeploys the app across the cluster, only if `version` is still its current one: a node letting go
   * of what it served must not take down a version another node deployed meanwhile. Without `version`, it
   * is undeployed at whatever version is current. Its versions' rows stay (a later deploy numbers on from
   * them, and the list shows them), but the zips of the version undeployed and of every older one are
   * pruned: nothing rolls an undeployed app back, and the undeployed zip is kept in `backups/`. A version
   * newer than the one undeployed keeps its zip, since it may be an upload still being started.
   */
  async remove(tenantId: number, name: string, version?: number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const undeployed = version ?? (await currentOf(this.db, tenantId, name))?.version;
      if (undeployed === undefined) return false;
      const result = await this.db
        .deleteFrom('webapps')
        .where('tenant_id', '=', tenantId)
        .where('name', '=', name)
        .where('current_version', '=', undeployed)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) > 0) {
        await this.dropBytes(tenantId, name, await this.unprunedVersions(tenantId, name, undeployed));
        return true;
      }
      // Told which version: another one is current now, and stays. Not told: another node moved the app
      // to a newer version between the read and the delete, which is undeployed in turn.
      if (version !== undefined || attempt >= RECORD_ATTEMPTS) return false;
    }
  }

  /** Removes the bytes of versions past the newest `keepVersions`, never the current one's. */
  async prune(tenantId: number, name: string): Promise<number[]> {
    const current = await currentOf(this.db, tenantId, name);
    const doomed = (await this.unprunedVersions(tenantId, name))
      .slice(this.keepVersions)
      .filter((version) => version !== current?.version);
    await this.dropBytes(tenantId, name, doomed);
    return doomed;
  }

  /** The app's versions whose zips are kept, newest first, up to `upTo` when given. */
  private async unprunedVersions(tenantId: number, name: string, upTo?: number): Promise<number[]> {
    let query = this.db
      .selectFrom('webapp_versions')
      .select('version')
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .where('pruned_at', 'is', null);
    if (upTo !== undefined) query = query.where('version', '<=', upTo);
    const rows = await query.orderBy('version', 'desc').execute();
    return rows.map((r) => Number(r.version));
  }

  /** Deletes these versions' chunks and marks them pruned, each version in a transaction of its own. */
  private async dropBytes(tenantId: number, name: string, versions: readonly number[]): Promise<void> {
    for (const version of versions) {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('webapp_version_chunks')
          .where('tenant_id', '=', tenantId)
          .where('name', '=', name)
          .where('version', '=', version)
          .execute();
        await trx
          .updateTable('webapp_versions')
          .set({ pruned_at: Date.now() })
          .where('tenant_id', '=', tenantId)
          .where('name', '=', name)
          .where('version', '=', version)
          .execute();
      });
    }
  }

  /** Whether `error` came from a version number another writer took first. */
  private async versionTaken(tenantId: number, name: string, error: unknown): Promise<boolean> {
    // Asked of the database rather than read from the driver's error: the engines word it differently.
    if (!(error instanceof Error)) return false;
    const rows = await this.db
      .selectFrom('webapp_versions')
      .select('version')
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .limit(1)
      .execute()
      .catch(() => []);
    return rows.length > 0;
  }
}

/** Each deployed app's current version with its checksum: the join every reader of `current` shares. */
function currentVersions(db: Kysely<Schema>) {
  return db
    .selectFrom('webapps as w')
    .innerJoin('webapp_versions as v', (join) =>
      join
        .onRef('v.tenant_id', '=', 'w.tenant_id')
        .onRef('v.name', '=', 'w.name')
        .onRef('v.version', '=', 'w.current_version'),
    )
    .select(['w.name', 'w.current_version', 'v.checksum']);
}

async function currentOf(
  db: Kysely<Schema>,
  tenantId: number,
  name: string,
): Promise<CurrentVersion | undefined> {
  const row = await currentVersions(db)
    .where('w.tenant_id', '=', tenantId)
    .where('w.name', '=', name)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : { name: row.name, version: Number(row.current_version), checksum: row.checksum };
}

/** Points the app at `version`, creating its row on a first deploy. */
async function setCurrentIn(
  trx: Kysely<Schema>,
  tenantId: number,
  name: string,
  version: number,
  by: string,
  now: number,
): Promise<void> {
  await writeRow(
    trx,
    'webapps',
    { tenant_id: tenantId, name },
    { current_version: version, updated_by: by, updated_at: now },
  );
}

function prunedError(name: string, version: number): TesseraError {
  return new TesseraError(
    'CONFLICT',
    `Version ${version} of app "${name}" is no longer kept (deployment.keep_versions): it cannot be served again.`,
  );
}
