import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type SharedCache, storeScope } from '../../cache/shared-cache.js';
import type { InvalidationBus } from '../../cluster/bus.js';
import type { Schema } from '../../db/schema.js';
import { TesseraError } from '../../errors.js';
import {
  listStoreFiles,
  renderStoreFile,
  type StoreDefinition,
  storeFileName,
  writeStoreFileText,
} from '../definitions/store-file.js';
import { isStoreDomain } from '../names.js';

/**
 * Where a tenant's store definitions live in the registry table. Not starting with `/`, such a path is
 * none the registry API can name (it normalises every path to an absolute one), so tenant admins can
 * neither read it (the URL may hold a password) nor write it; it travels with the database (export,
 * upgrade) and goes with its tenant (the table's foreign key cascades).
 */
const PATH_PREFIX = 'userstores:';
const MEDIA_TYPE = 'application/toml';
const WRITER = 'tessera:userstores';
const INSERT_ATTEMPTS = 5;

export interface SharedDefinitionsOptions {
  /**
   * While true, a change made by hand in a folder is not published (maintenance mode: the database holds
   * still); the file waits, unloaded, until the first reconcile after it turns false.
   */
  publishingHeld?: () => boolean;
}

/**
 * The secondary store definitions of every tenant, shared by the nodes of a cluster through the server
 * database, and each node's `userstores/` folder kept in line with them (where the manager loads them from).
 *
 * Each node remembers, per file, the text it last agreed with the database on. A reconcile then tells a
 * change made in the database (by another node: written to the folder) from one made in the folder (by
 * hand: published). When both changed, the database wins. A file present at a node's start that the
 * database does not know stays local to that node: a home copied by an upgrade is not pushed onto a shared
 * database unasked; changing such a file while the node runs publishes it.
 */
export class SharedStoreDefinitions {
  private readonly agreed = new Map<number, Map<string, string>>();
  /** Files present at start that the database does not know, by tenant: local until they change. */
  private readonly localOnly = new Map<number, Map<string, string>>();
  /** Tenants reconciled once: what their folder held before that counts as present at start. */
  private readonly reconciled = new Set<number>();
  /** Names already warned about, so that the periodic reconcile does not repeat the warning every time. */
  private readonly warned = new Set<string>();
  private readonly publishingHeld: () => boolean;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly bus: InvalidationBus,
    private readonly cache: SharedCache,
    private readonly logger: Logger,
    options: SharedDefinitionsOptions = {},
  ) {
    this.publishingHeld = options.publishingHeld ?? (() => false);
  }

  /** A store created through the API: recorded in the database; CONFLICT when any node already has it. */
  async created(tenantId: number, definition: StoreDefinition): Promise<void> {
    const text = renderStoreFile(definition);
    const inserted = await this.insertVersion(tenantId, definition.domain, text, true);
    if (!inserted)
      // The manager words the refusal with the tenant's domain; an id is never shown to a tenant admin.
      throw new TesseraError('CONFLICT', `This tenant already has a user store ${definition.domain}.`);
    this.agreedOf(tenantId).set(definition.domain, text);
    await this.announce(tenantId, definition.domain);
  }

  /** A store removed through the API: gone from the database, so from every node's folder. */
  async removed(tenantId: number, domain: string): Promise<void> {
    await this.deleteDefinition(tenantId, domain);
    this.agreedOf(tenantId).delete(domain);
    await this.announce(tenantId, domain);
  }

  /**
   * Brings a tenant's folder and the database in line (see the class), and returns the domains whose
   * change in the folder waits to be published (see `publishingHeld`): their files are not to be loaded,
   * nor their stores unloaded, yet. Never throws: while the database cannot be read, the folder stays as
   * it is and the next reconcile tries again.
   */
  async reconcile(tenantId: number, folder: string): Promise<ReadonlySet<string>> {
    const held = new Set<string>();
    try {
      await this.reconcileOrThrow(tenantId, folder, held);
    } catch (error) {
      this.logger.warn({ tenantId, reason: String(error) }, 'cannot share user store definitions now');
    }
    return held;
  }

  /** Forgets what it knew of a tenant that is no longer served. */
  forgetTenant(tenantId: number): void {
    this.agreed.delete(tenantId);
    this.localOnly.delete(tenantId);
    this.reconciled.delete(tenantId);
  }

  private async reconcileOrThrow(tenantId: number, folder: string, held: Set<string>): Promise<void> {
    const firstTime = !this.reconciled.has(tenantId);
    const agreed = this.agreedOf(tenantId);
    const shared = await this.readDefinitions(tenantId);
    const files = await readStoreFiles(folder, (name) =>
      this.warnOnce(
        `file:${folder}:${name}`,
        { tenantId, folder, file: name },
        'user store file name is not a store domain; it is not shared',
      ),
    );
    let local = this.localOnly.get(tenantId);
    if (local === undefined) {
      local = new Map();
      this.localOnly.set(tenantId, local);
    }
    const domains = new Set([...shared.keys(), ...files.keys(), ...agreed.keys(), ...local.keys()]);
    for (const domain of domains) {
      const inDatabase = shared.get(domain);
      const onDisk = files.get(domain);
      if (inDatabase === undefined && onDisk !== undefined) {
        if (firstTime) local.set(domain, onDisk);
        if (local.get(domain) === onDisk) continue;
      }
      local.delete(domain);
      const base = agreed.get(domain);
      const changedHere =
        inDatabase !== onDisk &&
        ((base !== undefined && inDatabase === base) ||
          (base === undefined && inDatabase === undefined && onDisk !== undefined));
      if (changedHere && this.publishingHeld()) {
        this.warnOnce(
          `held:${tenantId}:${domain}:${onDisk ?? ''}`,
          { tenantId, store: domain },
          'user store file changed by hand: it is published and loaded once maintenance mode is off',
        );
        held.add(domain);
        continue;
      }
      if (inDatabase === onDisk) {
        if (inDatabase === undefined) agreed.delete(domain);
        else agreed.set(domain, inDatabase);
      } else if (base !== undefined && inDatabase === base) {
        // Changed (or removed) in this folder since it last agreed: every node gets the change.
        if (onDisk === undefined) await this.removed(tenantId, domain);
        else await this.publish(tenantId, domain, onDisk);
      } else if (base === undefined && inDatabase === undefined && onDisk !== undefined) {
        await this.publish(tenantId, domain, onDisk);
      } else {
        // Changed in the database by another node (or on both sides: the database wins).
        if (onDisk !== undefined && base !== undefined && onDisk !== base) {
          this.logger.warn(
            { tenantId, store: domain },
            'user store file changed here and on another node; the shared definition replaces it',
          );
        }
        await materialise(folder, domain, inDatabase);
        if (inDatabase === undefined) agreed.delete(domain);
        else agreed.set(domain, inDatabase);
        this.logger.info(
          { tenantId, store: domain, change: inDatabase === undefined ? 'removed' : 'written' },
          'user store definition taken from the shared database',
        );
      }
    }
    this.reconciled.add(tenantId);
  }

  /** A hand-written or hand-edited file: published as the store's next version. */
  private async publish(tenantId: number, domain: string, text: string): Promise<void> {
    await this.insertVersion(tenantId, domain, text, false);
    this.agreedOf(tenantId).set(domain, text);
    this.logger.info({ tenantId, store: domain }, 'user store file published to every node');
    await this.announce(tenantId, domain);
  }

  private async announce(tenantId: number, domain: string): Promise<void> {
    // Entries read through the old definition (maybe another database) must not outlive it.
    await this.cache.invalidate([storeScope(tenantId, domain)]);
    await this.bus.publish({ kind: 'stores', tenantId });
  }

  private agreedOf(tenantId: number): Map<string, string> {
    let agreed = this.agreed.get(tenantId);
    if (agreed === undefined) {
      agreed = new Map();
      this.agreed.set(tenantId, agreed);
    }
    return agreed;
  }

  /** The latest text of each of the tenant's definitions, by domain (older versions' content is not read). */
  private async readDefinitions(tenantId: number): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('registry_resources as r')
      .select(['r.path', 'r.content'])
      .where('r.tenant_id', '=', tenantId)
      .where('r.path', 'like', `${PATH_PREFIX}%`)
      // Databases written before versions were pruned may still hold several per path.
      .where('r.version', '=', (eb) =>
        eb
          .selectFrom('registry_resources as newer')
          .select((e) => e.fn.max('newer.version').as('latest'))
          .whereRef('newer.tenant_id', '=', 'r.tenant_id')
          .whereRef('newer.path', '=', 'r.path'),
      )
      .execute();
    const latest = new Map<string, string>();
    for (const row of rows) {
      const domain = row.path.slice(PATH_PREFIX.length);
      // The name becomes a file name in the tenant's folder: one such as `../../conf/x` must not.
      if (!isStoreDomain(domain)) {
        this.warnOnce(
          `db:${tenantId}:${domain}`,
          { tenantId, path: row.path },
          'ignored a shared user store definition whose name is not a store domain',
        );
        continue;
      }
      latest.set(domain, textOf(row.content));
    }
    return latest;
  }

  private warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.logger.warn(fields, message);
  }

  /**
   * Adds the next version of a definition (version 1 only when `mustBeNew`); false when `mustBeNew` and
   * the definition exists (another node created it first: the unique index refused the second row).
   */
  private async insertVersion(
    tenantId: number,
    domain: string,
    text: string,
    mustBeNew: boolean,
  ): Promise<boolean> {
    const resourcePath = `${PATH_PREFIX}${domain}`;
    for (let attempt = 1; ; attempt++) {
      const latest = await this.db
        .selectFrom('registry_resources')
        .select((eb) => eb.fn.max('version').as('latest'))
        .where('tenant_id', '=', tenantId)
        .where('path', '=', resourcePath)
        .executeTakeFirst();
      const version = Number(latest?.latest ?? 0) + 1;
      if (mustBeNew && version > 1) return false;
      try {
        await this.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('registry_resources')
            .values({
              tenant_id: tenantId,
              path: resourcePath,
              version,
              media_type: MEDIA_TYPE,
              content: Buffer.from(text, 'utf8'),
              created_by: WRITER,
              created_at: Date.now(),
            })
            .execute();
          // Only the latest version is ever read; older ones would keep a rotated password in the
          // database and its exports. The latest row stays, so version numbers keep rising.
          await trx
            .deleteFrom('registry_resources')
            .where('tenant_id', '=', tenantId)
            .where('path', '=', resourcePath)
            .where('version', '<', version)
            .execute();
        });
        return true;
      } catch (error) {
        if (!/unique|duplicate/i.test((error as Error).message)) throw error;
        if (mustBeNew) return false;
        if (attempt >= INSERT_ATTEMPTS) throw error;
      }
    }
  }

  private async deleteDefinition(tenantId: number, domain: string): Promise<void> {
    await this.db
      .deleteFrom('registry_resources')
      .where('tenant_id', '=', tenantId)
      .where('path', '=', `${PATH_PREFIX}${domain}`)
      .execute();
  }
}

/** The text of every store file in a folder, by the domain its name claims; `skipped` hears of bad names. */
async function readStoreFiles(
  folder: string,
  skipped: (fileName: string) => void,
): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const [domain, file] of await listStoreFiles(folder)) {
    if (!isStoreDomain(domain)) {
      skipped(path.basename(file));
      continue;
    }
    try {
      texts.set(domain, await readFile(file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return texts;
}

/** Writes (atomically, readable by the server's user only: it may hold a password) or removes a file. */
async function materialise(folder: string, domain: string, text: string | undefined): Promise<void> {
  // readDefinitions and readStoreFiles let only store domains through; this is the last line against a
  // name that would leave the folder.
  if (!isStoreDomain(domain))
    throw new TesseraError('BAD_REQUEST', `"${domain}" is not a user store domain.`);
  if (text === undefined) {
    await rm(path.join(folder, storeFileName(domain)), { force: true });
    return;
  }
  if (existsSync(folder)) await writeStoreFileText(folder, domain, text);
}

function textOf(content: Uint8Array | string): string {
  if (typeof content === 'string') return content;
  return Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('utf8');
}
