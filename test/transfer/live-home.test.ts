import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { create, extract } from 'tar';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DATABASE_URL, defaultConfigText } from '../../src/config/schema.js';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { DumpManifest } from '../../src/db/copy/dump-format.js';
import { writeDump } from '../../src/db/copy/dump-write.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { ensureHomeLayout, homeLayout } from '../../src/home/layout.js';
import { bootstrapDatabase } from '../../src/server/bootstrap.js';
import { BUNDLE_DATABASE } from '../../src/transfer/bundle.js';
import { cleanupsAfterEach } from '../helpers/cleanups.js';
import { runCli } from '../helpers/cli.js';
import { ensureBuilt } from '../helpers/cluster.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { buildFixtureOn, fixtureAtCurrentRelease } from '../helpers/fixtures.js';
import { clusterStatus, type NodeProcess, startNodeProcess } from '../helpers/node-process.js';

const cleanups = cleanupsAfterEach();

beforeAll(() => {
  ensureBuilt();
});

async function startNode(home: string): Promise<NodeProcess> {
  const node = await startNodeProcess(home);
  cleanups.add(() => node.kill());
  return node;
}

/** A home at the current release (a 2.0.0 fixture brought to it) with tenants, users and a deployment. */
async function sourceHome(kind: DatabaseKind): Promise<string> {
  const database = await cleanups.scratch(kind, 'live_src');
  const root = path.join(database.home, 'home');
  const fixture = await buildFixtureOn(kind, database, {
    release: '2.0.0',
    home: root,
    tenants: 1,
    users: 2,
  });
  cleanups.addLast(() => fixture.dropStores());
  await fixtureAtCurrentRelease(root, kind === 'sqlite' ? DEFAULT_DATABASE_URL : database.url);
  return root;
}

/** A home whose database holds what a first start leaves, ready for an import. */
async function targetHome(kind: DatabaseKind, label: string): Promise<string> {
  const empty = await cleanups.scratch(kind, label);
  const root = path.join(empty.home, 'home');
  const layout = homeLayout(root);
  ensureHomeLayout(layout);
  const url = kind === 'sqlite' ? DEFAULT_DATABASE_URL : empty.url;
  writeFileSync(layout.configFile, defaultConfigText().replace(DEFAULT_DATABASE_URL, url));
  const database = await openDatabase(url, root);
  try {
    await bootstrapDatabase(database, 'first-start-pw');
  } finally {
    await database.close();
  }
  return root;
}

async function withHomeDatabase<T>(
  root: string,
  url: string,
  work: (database: Database<unknown>) => Promise<T>,
): Promise<T> {
  const database = await openDatabase<unknown>(url, root);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

function tessera(...args: string[]) {
  return runCli(args, { timeoutMs: 120_000 });
}

/** The database dump manifest inside an export bundle. */
async function bundleDump(file: string): Promise<DumpManifest> {
  const dir = `${file}.unpacked`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  await extract({ file, cwd: dir });
  return JSON.parse(readFileSync(path.join(dir, BUNDLE_DATABASE, 'manifest.json'), 'utf8')) as DumpManifest;
}

function nodeRows(manifest: DumpManifest): number | undefined {
  return manifest.tables.find((t) => t.name === 'cluster_nodes')?.rows;
}

/** How a refusal names a node: its cluster id and where it listens. */
function named(node: NodeProcess): string {
  return `node ${node.node.nodeId} at ${node.node.host}:${node.node.port}`;
}

// Which node holds a home is read the same way on every engine (its lock file and its node row), so MariaDB
// runs only the test below.
describe.each(['sqlite', 'postgres'] as const)('export and import of a live home on %s', (kind) => {
  it('refuse with exit 2 naming the running node, and go through once it stopped or was killed', async () => {
    const source = await sourceHome(kind);
    const bundle = path.join(path.dirname(source), 'export.tar.gz');

    const first = await startNode(source);
    let result = tessera('export', '--home', source, '--out', bundle);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(named(first));
    expect(result.stderr).toContain('Stop every Tessera node of this home');
    expect(existsSync(bundle)).toBe(false);

    await first.stop();
    result = tessera('export', '--home', source, '--out', bundle);
    expect(result.status, result.stderr).toBe(0);

    // A crash leaves the node's row with a fresh heartbeat; its home lock went with the process.
    const crashed = await startNode(source);
    await crashed.kill();
    const rows = await clusterStatus(source);
    expect(rows.map((n) => [n.nodeId, n.state])).toEqual([[crashed.node.nodeId, 'live']]);
    result = tessera('export', '--home', source, '--out', bundle);
    expect(result.status, result.stderr).toBe(0);
    expect(nodeRows(await bundleDump(bundle))).toBe(0);

    const target = await targetHome(kind, 'live_dst');
    const running = await startNode(target);
    result = tessera('import', '--home', target, '--in', bundle);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain(named(running));
    expect(result.stderr).toContain('then run tessera import again');
    expect((await clusterStatus(target)).map((n) => n.nodeId)).toEqual([running.node.nodeId]);
    expect(existsSync(path.join(target, 'conf', 'tessera.imported.toml'))).toBe(false);

    await running.kill();
    result = tessera('import', '--home', target, '--in', bundle);
    expect(result.status, result.stderr).toBe(0);
    // Neither the source's crashed node nor the target's own shows as a ghost.
    expect(await clusterStatus(target)).toEqual([]);
    result = tessera('cluster', 'status', '--home', target);
    expect(result.stdout).toContain('0 live, 0 gone');
  }, 120_000);
});

describe.each(DATABASE_KINDS)('export and import of a stopped home on %s', (kind) => {
  it('imports no node rows from an export written before node rows were left out', async () => {
    const source = await sourceHome(kind);
    const crashed = await startNode(source);
    await crashed.kill();
    const bundle = path.join(path.dirname(source), 'export.tar.gz');
    expect(tessera('export', '--home', source, '--out', bundle).status).toBe(0);

    // The same bundle as an earlier release wrote it: the dump carries the crashed node's row.
    const dir = `${bundle}.old`;
    mkdirSync(dir);
    await extract({ file: bundle, cwd: dir });
    rmSync(path.join(dir, BUNDLE_DATABASE), { recursive: true });
    const url = kind === 'sqlite' ? DEFAULT_DATABASE_URL : await configuredUrl(source);
    const dump = await withHomeDatabase(source, url, (db) => writeDump(db, path.join(dir, BUNDLE_DATABASE)));
    expect(nodeRows(dump)).toBe(1);
    const old = path.join(path.dirname(source), 'old-export.tar.gz');
    await create({ gzip: true, file: old, cwd: dir, portable: true }, [
      'manifest.json',
      BUNDLE_DATABASE,
      'home',
    ]);

    const target = await targetHome(kind, 'live_old');
    const result = tessera('import', '--home', target, '--in', old);
    expect(result.status, result.stderr).toBe(0);
    expect(await clusterStatus(target)).toEqual([]);
    const targetUrl = kind === 'sqlite' ? DEFAULT_DATABASE_URL : await configuredUrl(target);
    const tenants = await withHomeDatabase(target, targetUrl, async (db) =>
      Number((await sql<{ n: number }>`select count(*) as n from tenants`.execute(db.db)).rows[0]?.n),
    );
    expect(tenants).toBe(2);
  });
});

async function configuredUrl(home: string): Promise<string> {
  const text = readFileSync(path.join(home, 'conf', 'tessera.toml'), 'utf8');
  const match = /^url = "(.*)"$/m.exec(text);
  if (!match?.[1]) throw new Error(`no database url in ${home}`);
  return match[1];
}
