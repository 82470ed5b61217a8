import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BusListener,
  type BusMessage,
  type InvalidationBus,
  LocalBus,
} from '../../../src/cluster/bus.js';
import { type Database, openDatabase } from '../../../src/db/connection.js';
import { type HomeLayout, homeLayout, SUPER_TENANT_ID, webappsFolder } from '../../../src/home/layout.js';
import { bootstrapDatabase } from '../../../src/server/bootstrap.js';
import { Deployer } from '../../../src/webapps/deployer.js';
import { ClusterApps } from '../../../src/webapps/versions/cluster-apps.js';
import { AppVersionStore, sha256Hex } from '../../../src/webapps/versions/version-store.js';
import { scratchDatabase, scratchFolder } from '../../helpers/databases.js';
import { buildZip, captureLog, eventually } from '../helpers.js';

const T = SUPER_TENANT_ID;

/** Every node's listeners hear every message, as Redis pub/sub delivers them: the transport, in process. */
class SharedBus implements InvalidationBus {
  private readonly listeners: BusListener[] = [];
  readonly subscribed = true;
  readonly sent: BusMessage[] = [];
  async publish(message: BusMessage): Promise<boolean> {
    this.sent.push(message);
    for (const listener of [...this.listeners]) listener(message);
    return true;
  }
  onMessage(listener: BusListener): void {
    this.listeners.push(listener);
  }
  onSubscription(): void {}
  async close(): Promise<void> {}
}

interface TestNode {
  layout: HomeLayout;
  webapps: string;
  deployer: Deployer;
  apps: ClusterApps;
  close(): Promise<void>;
}

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
  cleanups = [];
});

async function sharedDatabase(): Promise<Database> {
  const scratch = await scratchDatabase('postgres', 'cluster_apps');
  cleanups.push(() => scratch.drop());
  const database = await openDatabase(scratch.url, scratch.home);
  cleanups.push(() => database.close());
  await bootstrapDatabase(database, 'cluster-apps-admin-pw');
  return database;
}

/** A node: its own home, the shared database and bus; no periodic follow (the tests call it). */
async function startNode(
  database: Database,
  bus: InvalidationBus,
  label: string,
  home?: string,
  intervalMs = 3_600_000,
  writesHeld?: () => boolean,
): Promise<TestNode> {
  const folder = home ?? scratchFolder(label).dir;
  if (!home) cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
  const layout = homeLayout(folder);
  const webapps = webappsFolder(layout, T);
  mkdirSync(webapps, { recursive: true });
  const log = captureLog();
  const apps = new ClusterApps({
    store: new AppVersionStore(database.db, 5),
    bus,
    logger: log.logger,
    backups: layout.backups,
    nodeLabel: `webapps/ of ${label}`,
    intervalMs,
    ...(writesHeld ? { writesHeld } : {}),
  });
  const deployer = new Deployer({ layout, logger: log.logger, hotDeploy: false, versions: apps });
  await deployer.start([T]);
  apps.start((tenantId) => deployer.follow(tenantId));
  const node: TestNode = {
    layout,
    webapps,
    deployer,
    apps,
    async close() {
      await apps.stop();
      await deployer.close();
    },
  };
  cleanups.push(() => node.close());
  return node;
}

async function dropZip(node: TestNode, name: string, files: Record<string, string>): Promise<Buffer> {
  const bytes = await buildZip(files);
  const aside = path.join(node.layout.root, `.${name}.part`);
  writeFileSync(aside, bytes);
  renameSync(aside, path.join(node.webapps, `${name}.zip`));
  await node.deployer.rescan();
  return bytes;
}

function servedFile(node: TestNode, app: string, file: string): string {
  const deployed = node.deployer.app(T, app);
  if (!deployed) throw new Error(`${app} is not deployed on this node`);
  return readFileSync(path.join(deployed.root, file), 'utf8');
}

describe('ClusterApps: every node serves the versions stored in the database', () => {
  it('carries a zip dropped on one node to the other, verified, then a rollback and an undeploy', async () => {
    const database = await sharedDatabase();
    const bus = new SharedBus();
    const a = await startNode(database, bus, 'node-a');
    const b = await startNode(database, bus, 'node-b');

    const v1 = await dropZip(a, 'shop', { 'index.html': 'one' });
    // Recorded on A, announced, and B took it on the message: the same bytes, numbered 1 on both.
    await eventually(() => b.deployer.app(T, 'shop')?.version === '1');
    expect(a.deployer.app(T, 'shop')?.version).toBe('1');
    expect(readFileSync(path.join(b.webapps, 'shop.zip')).equals(v1)).toBe(true);
    expect(servedFile(b, 'shop', 'index.html')).toBe('one');

    await dropZip(a, 'shop', { 'index.html': 'two' });
    await eventually(() => b.deployer.app(T, 'shop')?.version === '2');
    expect(servedFile(b, 'shop', 'index.html')).toBe('two');

    // A rollback is the database pointing back: each node writes version 1's bytes again and deploys them.
    await a.apps.store.setCurrent(T, 'shop', 1, 'admin');
    await a.apps.announce(T);
    await eventually(
      () => a.deployer.app(T, 'shop')?.version === '1' && b.deployer.app(T, 'shop')?.version === '1',
    );
    expect(servedFile(a, 'shop', 'index.html')).toBe('one');
    expect(servedFile(b, 'shop', 'index.html')).toBe('one');
    expect((await a.apps.store.versions(T, 'shop')).map((v) => v.version)).toEqual([2, 1]);

    // Removed from B's folder by hand: undeployed on every node, its zip kept in A's backups/.
    rmSync(path.join(b.webapps, 'shop.zip'));
    await b.deployer.rescan();
    await eventually(() => a.deployer.app(T, 'shop') === undefined);
    expect(existsSync(path.join(a.webapps, 'shop.zip'))).toBe(false);
    expect(readdirSync(a.layout.backups).some((f) => f.startsWith(`undeployed-${T}-`))).toBe(true);
    expect(await a.apps.store.current(T)).toEqual([]);
  });

  it('brings a node that was down up to date, and takes a zip dropped there meanwhile as the next version', async () => {
    const database = await sharedDatabase();
    const bus = new SharedBus();
    const a = await startNode(database, bus, 'node-a');
    const homeB = scratchFolder('node-b').dir;
    cleanups.push(() => rmSync(homeB, { recursive: true, force: true }));
    const b = await startNode(database, bus, 'node-b', homeB);
    await dropZip(a, 'shop', { 'index.html': 'one' });
    await eventually(() => b.deployer.app(T, 'shop')?.version === '1');
    await b.close();

    // While B is down: version 2 on A. B's folder still holds version 1, which the database knows.
    await dropZip(a, 'shop', { 'index.html': 'two' });
    const b2 = await startNode(database, bus, 'node-b', homeB);
    expect(b2.deployer.app(T, 'shop')?.version).toBe('2');
    expect(servedFile(b2, 'shop', 'index.html')).toBe('two');
    await b2.close();

    // While B is down again: a zip nobody has seen is dropped into its folder. At start it is new code.
    const fresh = await buildZip({ 'index.html': 'three, by hand' });
    writeFileSync(path.join(webappsFolder(homeLayout(homeB), T), 'shop.zip'), fresh);
    const b3 = await startNode(database, bus, 'node-b', homeB);
    expect(b3.deployer.app(T, 'shop')?.version).toBe('3');
    await eventually(() => a.deployer.app(T, 'shop')?.version === '3');
    expect(servedFile(a, 'shop', 'index.html')).toBe('three, by hand');
    expect((await a.apps.store.versions(T, 'shop'))[0]).toMatchObject({
      version: 3,
      origin: 'zip',
      deployedBy: 'webapps/ of node-b',
      checksum: sha256Hex(fresh),
    });
  });

  it('carries a deploy and a rollback without any message, by the periodic check alone', async () => {
    const database = await sharedDatabase();
    // Each node its own bus: what one publishes never reaches the other (Redis down, or none).
    const a = await startNode(database, new LocalBus(), 'node-a', undefined, 200);
    const b = await startNode(database, new LocalBus(), 'node-b', undefined, 200);
    await dropZip(a, 'shop', { 'index.html': 'one' });
    await eventually(() => b.deployer.app(T, 'shop')?.version === '1');
    await dropZip(a, 'shop', { 'index.html': 'two' });
    await eventually(() => b.deployer.app(T, 'shop')?.version === '2');
    await a.apps.store.setCurrent(T, 'shop', 1, 'admin');
    await eventually(
      () => a.deployer.app(T, 'shop')?.version === '1' && b.deployer.app(T, 'shop')?.version === '1',
    );
    expect(servedFile(b, 'shop', 'index.html')).toBe('one');
  });

  it('records no new version while maintenance mode holds writes, and records it once it is off', async () => {
    const database = await sharedDatabase();
    let held = false;
    const a = await startNode(database, new SharedBus(), 'node-a', undefined, 3_600_000, () => held);
    await dropZip(a, 'shop', { 'index.html': 'one' });
    expect(a.deployer.app(T, 'shop')?.version).toBe('1');
    held = true;
    await dropZip(a, 'shop', { 'index.html': 'two' });
    // The deployed version keeps serving; the database is not written.
    expect(a.deployer.app(T, 'shop')?.version).toBe('1');
    expect(servedFile(a, 'shop', 'index.html')).toBe('one');
    expect((await a.apps.store.versions(T, 'shop')).map((v) => v.version)).toEqual([1]);
    held = false;
    await a.deployer.rescan();
    expect(a.deployer.app(T, 'shop')?.version).toBe('2');
    expect(servedFile(a, 'shop', 'index.html')).toBe('two');
  });

  it('never writes bytes that fail their checksum: the node keeps serving what it had', async () => {
    const database = await sharedDatabase();
    const bus = new SharedBus();
    const a = await startNode(database, bus, 'node-a');
    const b = await startNode(database, bus, 'node-b');
    await dropZip(a, 'shop', { 'index.html': 'one' });
    await eventually(() => b.deployer.app(T, 'shop')?.version === '1');

    // Version 2 is recorded, then its stored bytes are damaged before B reads them.
    await a.apps.store.record(T, 'shop', await buildZip({ 'index.html': 'two' }), {
      origin: 'upload',
      deployedBy: 'admin',
    });
    await database.db
      .updateTable('webapp_version_chunks')
      .set({ bytes: await buildZip({ 'index.html': 'evil' }) })
      .where('version', '=', 2)
      .execute();
    await b.deployer.follow(T);
    expect(b.deployer.app(T, 'shop')?.version).toBe('1');
    expect(servedFile(b, 'shop', 'index.html')).toBe('one');
  });

  it('records a folder app as a zip for the other nodes, and never writes over the folder on its own node', async () => {
    const database = await sharedDatabase();
    const bus = new SharedBus();
    const a = await startNode(database, bus, 'node-a');
    const b = await startNode(database, bus, 'node-b');
    mkdirSync(path.join(a.webapps, 'docs', 'guide'), { recursive: true });
    writeFileSync(path.join(a.webapps, 'docs', 'index.html'), 'docs home');
    writeFileSync(path.join(a.webapps, 'docs', 'guide', 'start.html'), 'start here');
    await a.deployer.rescan();
    expect(a.deployer.app(T, 'docs')).toMatchObject({ source: 'folder', version: '1' });
    await eventually(() => b.deployer.app(T, 'docs')?.version === '1');
    expect(b.deployer.app(T, 'docs')?.source).toBe('zip');
    expect(servedFile(b, 'docs', 'guide/start.html')).toBe('start here');

    // A version uploaded elsewhere reaches B, but A's folder is its own.
    await b.apps.store.record(T, 'docs', await buildZip({ 'index.html': 'uploaded' }), {
      origin: 'upload',
      deployedBy: 'admin',
    });
    await b.apps.announce(T);
    await eventually(() => b.deployer.app(T, 'docs')?.version === '2');
    await a.deployer.follow(T);
    expect(readFileSync(path.join(a.webapps, 'docs', 'index.html'), 'utf8')).toBe('docs home');
    expect(existsSync(path.join(a.webapps, 'docs.zip'))).toBe(false);
  });
});
