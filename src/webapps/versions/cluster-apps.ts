import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { InvalidationBus } from '../../cluster/bus.js';
import { PRIVATE_FILE_MODE } from '../../home/private-modes.js';
import type { AppSource } from '../webapps-scan.js';
import { packFolder } from './pack-folder.js';
import {
  type AppVersionStore,
  type CurrentVersion,
  type RecordedVersion,
  sha256Hex,
} from './version-store.js';

/**
 * What the deployer asks of the cluster's copy of the apps (see `ClusterApps`). Without it (a deployer in a
 * test, or a tool), a node's apps are its `webapps/` folder alone.
 */
export interface ClusterVersions {
  /**
   * Brings the tenant's `webapps/` folder in line with the versions the cluster serves, given what the
   * folder holds now: writes each current version the folder lacks or holds older, moves out what the
   * cluster undeployed. Returns the entries it wrote (complete: they need not settle).
   */
  mirror(tenantId: number, webapps: string, sources: readonly AppSource[]): Promise<Set<string>>;
  /** A source about to be deployed here, checked: its version number, recorded as a new one if new. */
  record(tenantId: number, source: AppSource): Promise<number>;
  /** The source of `version` was removed from this node's `webapps/`: the app leaves the cluster. */
  removed(tenantId: number, name: string, version: number): Promise<void>;
}

export interface ClusterAppsOptions {
  store: AppVersionStore;
  bus: InvalidationBus;
  logger: Logger;
  /** Where a zip the cluster undeployed goes (the node's `backups/`), as the API's undeploy does. */
  backups: string;
  /** Who a version dropped into this node's `webapps/` is recorded as deployed by. */
  nodeLabel: string;
  /** How often every tenant is compared with the database even without a bus message. */
  intervalMs: number;
  /**
   * While true (maintenance mode), nothing is written to the database: a new version dropped into
   * `webapps/` waits (the deployer tries again), and an app removed by hand is not undeployed for the cluster.
   */
  writesHeld?: () => boolean;
}

/** What the cluster runs: one tenant's apps, by name. */
interface Checksummed {
  fingerprint: string;
  checksum: string;
}

/**
 * Keeps a node's apps in line with the versions stored in the database (issue 13): a version deployed on
 * any node is written into this node's `webapps/` as a zip, after its bytes were checked against the
 * recorded checksum, and the deployer takes it from there (a new version starts beside the old one). A zip
 * or folder dropped into this node's `webapps/` becomes a new version for every node.
 *
 * Whether a zip in `webapps/` is the cluster's or the operator's is told by its checksum: one the app
 * ever had (the database keeps the checksum of every version, even one whose bytes were pruned) is the
 * cluster's, and gives way to the current version; an unknown one was dropped there by hand, and the
 * deployer records it as the app's next version. Folder apps stay their node's own: the cluster's
 * versions are never written over a folder.
 */
export class ClusterApps implements ClusterVersions {
  private readonly checksums = new Map<string, Checksummed>();
  private readonly folderWarnings = new Set<string>();
  /**
   * Uploads under way on this node, by `tenantId/name`: the version stored but not current until it started
   * here. The mirror leaves these apps alone meanwhile, and the deployer gets the staged version's number.
   */
  private readonly staged = new Map<string, Map<number, string>>();
  /** Per tenant, the current versions as its last mirror saw them (`signature`). */
  private readonly mirrored = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private follow: ((tenantId: number) => Promise<void>) | undefined;

  constructor(private readonly options: ClusterAppsOptions) {}

  get store(): AppVersionStore {
    return this.options.store;
  }

  /**
   * Starts following: a `webapps` message from another node has `follow` (the deployer's) compare the
   * tenant's folder with the database again; every `intervalMs`, in case a message was missed, one query
   * reads every tenant's current versions and the tenants whose versions changed since their last mirror
   * are followed.
   */
  start(follow: (tenantId: number) => Promise<void>): void {
    this.follow = follow;
    this.options.bus.onMessage((message) => {
      if (message.kind === 'webapps') void follow(message.tenantId);
    });
    this.timer = setInterval(() => void this.followChanged(follow), this.options.intervalMs);
    this.timer.unref();
  }

  private async followChanged(follow: (tenantId: number) => Promise<void>): Promise<void> {
    let all: Map<number, CurrentVersion[]>;
    try {
      all = await this.options.store.currentAll();
    } catch (error) {
      this.options.logger.debug({ reason: String(error) }, "cannot read the cluster's apps now");
      return;
    }
    const tenants = new Set([...all.keys(), ...this.mirrored.keys()]);
    for (const tenantId of tenants) {
      if (signature(all.get(tenantId) ?? []) !== (this.mirrored.get(tenantId) ?? signature([])))
        await follow(tenantId);
      // A tenant without apps (or gone) needs no memory: its next app is a change from nothing.
      if (!all.has(tenantId)) this.mirrored.delete(tenantId);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Tells every node that the tenant's apps changed in the database, and follows the change here now. */
  async announce(tenantId: number): Promise<void> {
    await this.options.bus.publish({ kind: 'webapps', tenantId });
    await this.follow?.(tenantId);
  }

  /**
   * Stores an upload as the app's next version without making it current: the node it was uploaded to
   * starts it first, and `publish` (it started) or `abandon` (it did not) ends the stage. Bytes that are the
   * current version's already are that version, with nothing staged.
   */
  async stage(tenantId: number, name: string, bytes: Buffer, deployedBy: string): Promise<RecordedVersion> {
    const recorded = await this.options.store.record(tenantId, name, bytes, {
      origin: 'upload',
      deployedBy,
      makeCurrent: false,
    });
    if (recorded.created) {
      const key = stageKey(tenantId, name);
      const versions = this.staged.get(key) ?? new Map<number, string>();
      versions.set(recorded.version, recorded.checksum);
      this.staged.set(key, versions);
    }
    return recorded;
  }

  /**
   * The staged version started here: every node serves it from now on. Not when the app was undeployed
   * here meanwhile (`unstage`), nor when a newer version exists (a later upload superseded it): the newest
   * wins. Says whether it was made current.
   */
  async publish(tenantId: number, name: string, version: number, by: string): Promise<boolean> {
    if (!this.staged.get(stageKey(tenantId, name))?.has(version)) return false;
    try {
      const newest = (await this.options.store.versions(tenantId, name))[0]?.version ?? version;
      if (newest > version) return false;
      await this.options.store.setCurrent(tenantId, name, version, by);
    } finally {
      this.forget(tenantId, name, version);
    }
    await this.announce(tenantId);
    return true;
  }

  /** The staged version is not made current (it did not deploy or start here): this node follows again. */
  async abandon(tenantId: number, name: string, version: number): Promise<void> {
    this.forget(tenantId, name, version);
    await this.follow?.(tenantId);
  }

  /** The app is undeployed here: no upload of it under way may make it current again. */
  unstage(tenantId: number, name: string): void {
    this.staged.delete(stageKey(tenantId, name));
  }

  private forget(tenantId: number, name: string, version: number): void {
    const key = stageKey(tenantId, name);
    const versions = this.staged.get(key);
    versions?.delete(version);
    if (versions?.size === 0) this.staged.delete(key);
  }

  async mirror(tenantId: number, webapps: string, sources: readonly AppSource[]): Promise<Set<string>> {
    const written = new Set<string>();
    const current = await this.options.store.current(tenantId);
    let complete = true;
    const zips = new Map(sources.filter((s) => s.kind === 'zip').map((s) => [s.name, s]));
    const folders = new Set(sources.filter((s) => s.kind === 'folder').map((s) => s.name));
    const log = this.options.logger;

    for (const wanted of current) {
      if (this.staged.has(stageKey(tenantId, wanted.name))) continue;
      if (folders.has(wanted.name)) {
        this.warnFolderOnce(tenantId, wanted.name, wanted.version);
        continue;
      }
      const local = zips.get(wanted.name);
      if (local) {
        const checksum = await this.checksumOf(local);
        if (checksum === wanted.checksum) continue;
        // A zip the app never had is the operator's new version: the deployer records it.
        if ((await this.options.store.versionWithChecksum(tenantId, wanted.name, checksum)) === undefined)
          continue;
      }
      if (!(await this.stillCurrent(tenantId, wanted.name, wanted.version))) continue;
      let bytes: Buffer;
      try {
        bytes = await this.options.store.read(tenantId, wanted.name, wanted.version);
      } catch (error) {
        log.error(
          { tenant: tenantId, app: wanted.name, version: wanted.version, reason: String(error) },
          'app version not taken from the database',
        );
        complete = false;
        continue;
      }
      const entry = `${wanted.name}.zip`;
      await writeAtomically(webapps, entry, bytes);
      this.checksums.delete(path.join(webapps, entry));
      written.add(entry);
      log.info(
        { tenant: tenantId, app: wanted.name, version: wanted.version, bytes: bytes.length },
        'app version taken from the database, checksum verified',
      );
    }

    const deployed = new Set(current.map((c) => c.name));
    for (const local of zips.values()) {
      if (deployed.has(local.name) || this.staged.has(stageKey(tenantId, local.name))) continue;
      const checksum = await this.checksumOf(local);
      // Known: a version the cluster has since undeployed. Unknown: a new app dropped here by hand.
      if ((await this.options.store.versionWithChecksum(tenantId, local.name, checksum)) === undefined)
        continue;
      if (!(await this.stillCurrent(tenantId, local.name, undefined))) continue;
      await mkdir(this.options.backups, { recursive: true });
      const kept = path.join(this.options.backups, `undeployed-${tenantId}-${Date.now()}-${local.entry}`);
      await rename(local.path, kept);
      this.checksums.delete(local.path);
      log.info(
        { tenant: tenantId, app: local.name, kept },
        'app undeployed on another node: its zip moved out',
      );
    }
    // Only a mirror that took every version counts as done: the periodic check tries the others again.
    if (complete) this.mirrored.set(tenantId, signature(current));
    else this.mirrored.delete(tenantId);
    return written;
  }

  async record(tenantId: number, source: AppSource): Promise<number> {
    const bytes = source.kind === 'zip' ? await readFile(source.path) : await packFolder(source.path);
    const checksum = sha256Hex(bytes);
    for (const [version, stagedChecksum] of this.staged.get(stageKey(tenantId, source.name)) ?? [])
      if (stagedChecksum === checksum) return version;
    if (this.options.writesHeld?.()) {
      const current = await this.options.store.currentOf(tenantId, source.name);
      if (current?.checksum === checksum) return current.version;
      throw new Error('maintenance mode holds writes: the new version is recorded once it is off');
    }
    const recorded = await this.options.store.record(tenantId, source.name, bytes, {
      origin: source.kind,
      deployedBy: this.options.nodeLabel,
    });
    if (recorded.created) {
      this.options.logger.info(
        { tenant: tenantId, app: source.name, version: recorded.version, checksum: recorded.checksum },
        'new app version recorded for the cluster',
      );
      await this.options.bus.publish({ kind: 'webapps', tenantId });
    }
    return recorded.version;
  }

  async removed(tenantId: number, name: string, version: number): Promise<void> {
    if (this.options.writesHeld?.()) {
      this.options.logger.warn(
        { tenant: tenantId, app: name, version },
        'app removed here during maintenance mode: the other nodes keep serving it',
      );
      return;
    }
    if (await this.options.store.remove(tenantId, name, version)) {
      this.options.logger.info({ tenant: tenantId, app: name, version }, 'app undeployed for the cluster');
      await this.options.bus.publish({ kind: 'webapps', tenantId });
    }
  }

  /**
   * Whether the app's current version is still `version` (undefined: still undeployed), asked again just
   * before a zip is written or moved: an upload on this node may have been made current since `current`
   * was read (`publish` runs outside the deployer's scan queue), and acting on the older read would take
   * the new version away. Not staged either: a staged app is its upload's until published or abandoned.
   */
  private async stillCurrent(tenantId: number, name: string, version: number | undefined): Promise<boolean> {
    if (this.staged.has(stageKey(tenantId, name))) return false;
    return (await this.options.store.currentOf(tenantId, name))?.version === version;
  }

  /** The zip's SHA-256, read again only when its size, time or inode changed. */
  private async checksumOf(source: AppSource): Promise<string> {
    const known = this.checksums.get(source.path);
    if (known?.fingerprint === source.fingerprint) return known.checksum;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(source.path)) hash.update(chunk as Buffer);
    const checksum = hash.digest('hex');
    this.checksums.set(source.path, { fingerprint: source.fingerprint, checksum });
    return checksum;
  }

  private warnFolderOnce(tenantId: number, name: string, version: number): void {
    const key = `${tenantId}/${name}/${version}`;
    if (this.folderWarnings.has(key)) return;
    this.folderWarnings.add(key);
    this.options.logger.debug(
      { tenant: tenantId, app: name, version },
      'app is a folder on this node: the cluster version is not written over it',
    );
  }
}

function stageKey(tenantId: number, name: string): string {
  return `${tenantId}/${name}`;
}

/** The current versions of a tenant's apps in a form two reads can be compared by. */
function signature(current: readonly CurrentVersion[]): string {
  return current
    .map((c) => `${c.name}:${c.version}`)
    .sort()
    .join(',');
}

/** Written under a dot name (the deployer never reads those) and renamed into place: never seen half written. */
async function writeAtomically(folder: string, entry: string, bytes: Buffer): Promise<void> {
  await mkdir(folder, { recursive: true });
  const temporary = path.join(folder, `.cluster-${randomBytes(4).toString('hex')}-${entry}`);
  try {
    await writeFile(temporary, bytes, { flag: 'wx', mode: PRIVATE_FILE_MODE });
    await rename(temporary, path.join(folder, entry));
  } finally {
    await rm(temporary, { force: true });
  }
}
