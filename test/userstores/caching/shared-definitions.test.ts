import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCache } from '../../../src/cache/memory-cache.js';
import { LocalBus } from '../../../src/cluster/bus.js';
import { homeLayout, userstoresFolder } from '../../../src/home/layout.js';
import { Registry } from '../../../src/registry/registry.js';
import { SharedStoreDefinitions } from '../../../src/userstores/caching/shared-definitions.js';
import { storeSharing } from '../../../src/userstores/caching/store-sharing.js';
import { UserStoreManager } from '../../../src/userstores/manager.js';
import { scratchFolder } from '../../helpers/databases.js';
import { capturingLogger, type ServerDatabase, serverDatabase } from '../helpers.js';

const ACME = 1;

interface Node {
  manager: UserStoreManager;
  folder: string;
  lines: string[];
  remove(): void;
}

/**
 * Two nodes in one process on one database, each with its own home: a shared in-memory cache, and no bus
 * between them (each node's messages reach itself only), so only their rescans carry changes across.
 */
describe('store definitions shared through the server database', () => {
  let server: ServerDatabase;
  let nodes: Node[] = [];

  beforeAll(async () => {
    server = await serverDatabase('sqlite', { [ACME]: 'acme.com' });
  });
  afterAll(async () => {
    await server?.dispose();
  });
  afterEach(async () => {
    for (const node of nodes) {
      await node.manager.close();
      node.remove();
    }
    nodes = [];
    await server.database.db.deleteFrom('registry_resources').execute();
  });

  /** A node on a home of its own; `prepare` sees its tenant's store folder before it starts. */
  async function startNode(prepare?: (folder: string) => void): Promise<Node> {
    const home = scratchFolder('node');
    const layout = homeLayout(home.dir);
    mkdirSync(userstoresFolder(layout, ACME), { recursive: true });
    prepare?.(userstoresFolder(layout, ACME));
    const { logger, lines } = capturingLogger();
    const cache = new MemoryCache();
    const definitions = new SharedStoreDefinitions(server.database.db, new LocalBus(), cache, logger);
    const manager = new UserStoreManager({
      database: server.database,
      layout,
      logger,
      sharing: storeSharing(cache, definitions),
      debounceMs: 20,
    });
    await manager.start([ACME]);
    const node = { manager, folder: userstoresFolder(layout, ACME), lines, remove: home.remove };
    nodes.push(node);
    return node;
  }

  it('a store created on one node is loaded and usable on the other; removed, it goes from both', async () => {
    const [a, b] = [await startNode(), await startNode()];
    const storeUrl = `sqlite:${path.join(server.scratch.home, 'partners.db')}`;
    await a.manager.createStore(ACME, { domain: 'partners', type: 'jdbc', url: storeUrl, readOnly: false });
    await a.manager.store(ACME, 'PARTNERS')?.addUser({ username: 'pat', password: 'pat-password-1' });

    await b.manager.rescan(ACME);
    expect(b.manager.describe(ACME).map((s) => [s.domain, s.status])).toEqual([
      ['PRIMARY', 'up'],
      ['PARTNERS', 'up'],
    ]);
    expect(readFileSync(path.join(b.folder, 'PARTNERS.toml'), 'utf8')).toBe(
      readFileSync(path.join(a.folder, 'PARTNERS.toml'), 'utf8'),
    );
    expect((await b.manager.store(ACME, 'partners')?.getUser('pat'))?.username).toBe('pat');

    // The definition is in the registry table, out of the registry API's reach.
    const registry = await Registry.open({ database: server.database, home: server.scratch.home });
    expect(await registry.list(ACME, '/')).toEqual([]);
    await registry.close();

    // Created again on the other node: refused, it exists.
    await expect(
      b.manager.createStore(ACME, { domain: 'PARTNERS', type: 'jdbc', url: storeUrl, readOnly: false }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });

    await b.manager.deleteStore(ACME, 'PARTNERS');
    await a.manager.rescan(ACME);
    expect(a.manager.describe(ACME).map((s) => s.domain)).toEqual(['PRIMARY']);
    expect(existsSync(path.join(a.folder, 'PARTNERS.toml'))).toBe(false);
  });

  it('a file written by hand on a running node is published; one there before the start stays local', async () => {
    const secret = 'hunter2-secret';
    const definition = (domain: string, database: string) =>
      `domain = "${domain}"\ntype = "jdbc"\nurl = "postgres://u:${secret}@127.0.0.1:1/${database}"\n`;
    const a = await startNode();
    const b = await startNode((folder) =>
      writeFileSync(path.join(folder, 'EARLY.toml'), definition('EARLY', 'e')),
    );

    const handWritten = definition('LATER', 'later');
    writeFileSync(path.join(a.folder, 'LATER.toml'), handWritten);
    await a.manager.rescan(ACME);
    await b.manager.rescan(ACME);
    expect(readFileSync(path.join(b.folder, 'LATER.toml'), 'utf8')).toBe(handWritten);
    // Loaded there as here (its database does not answer: the same error on both nodes).
    expect(b.manager.describe(ACME).find((s) => s.domain === 'LATER')?.status).toBe('error');

    // EARLY was in b's folder when b started: it stays b's own until it changes.
    await a.manager.rescan(ACME);
    expect(existsSync(path.join(a.folder, 'EARLY.toml'))).toBe(false);
    expect(b.manager.describe(ACME).map((s) => s.domain)).toContain('EARLY');
    const earlyEdited = definition('EARLY', 'e2');
    writeFileSync(path.join(b.folder, 'EARLY.toml'), earlyEdited);
    await b.manager.rescan(ACME);
    await a.manager.rescan(ACME);
    expect(readFileSync(path.join(a.folder, 'EARLY.toml'), 'utf8')).toBe(earlyEdited);

    // Edited by hand on b, the change reaches a; removed by hand on a, it goes from b.
    const edited = definition('LATER', 'later2');
    writeFileSync(path.join(b.folder, 'LATER.toml'), edited);
    await b.manager.rescan(ACME);
    await a.manager.rescan(ACME);
    expect(readFileSync(path.join(a.folder, 'LATER.toml'), 'utf8')).toBe(edited);
    rmSync(path.join(a.folder, 'LATER.toml'));
    await a.manager.rescan(ACME);
    await b.manager.rescan(ACME);
    expect(existsSync(path.join(b.folder, 'LATER.toml'))).toBe(false);
    expect(b.manager.describe(ACME).map((s) => s.domain)).toEqual(['PRIMARY', 'EARLY']);

    for (const node of [a, b]) expect(node.lines.join('\n')).not.toContain(secret);
  });

  it('keeps only the latest version of a definition, so that a rotated password leaves the database', async () => {
    const definition = (password: string) =>
      `domain = "ROTATED"\ntype = "jdbc"\nurl = "postgres://u:${password}@127.0.0.1:1/r"\n`;
    const a = await startNode();
    writeFileSync(path.join(a.folder, 'ROTATED.toml'), definition('old-password-1'));
    await a.manager.rescan(ACME);
    writeFileSync(path.join(a.folder, 'ROTATED.toml'), definition('new-password-2'));
    await a.manager.rescan(ACME);
    const rows = await server.database.db
      .selectFrom('registry_resources')
      .select(['path', 'version', 'content'])
      .where('tenant_id', '=', ACME)
      .execute();
    expect(rows.map((r) => [r.path, r.version])).toEqual([['userstores:ROTATED', 2]]);
    const texts = rows.map((r) => Buffer.from(r.content as Uint8Array).toString('utf8')).join('\n');
    expect(texts).toContain('new-password-2');
    expect(texts).not.toContain('old-password-1');
  });

  it('a definition in the database whose name is not a store domain is never written, and is warned about once', async () => {
    const a = await startNode();
    for (const name of ['../../../conf/evil', 'lower']) {
      await server.database.db
        .insertInto('registry_resources')
        .values({
          tenant_id: ACME,
          path: `userstores:${name}`,
          version: 1,
          media_type: 'application/toml',
          content: Buffer.from(`domain = "X"\ntype = "jdbc"\nurl = "sqlite:x.db"\n`, 'utf8'),
          created_by: 'test',
          created_at: Date.now(),
        })
        .execute();
    }
    await a.manager.rescan(ACME);
    await a.manager.rescan(ACME);
    expect(existsSync(path.join(a.folder, '../../../conf/evil.toml'))).toBe(false);
    expect(existsSync(path.join(a.folder, 'lower.toml'))).toBe(false);
    const warnings = a.lines.filter((l) => l.includes('not a store domain'));
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toContain('../../../conf/evil');
  });

  it('a store file whose name is not a store domain is not published', async () => {
    const a = await startNode();
    writeFileSync(
      path.join(a.folder, 'lower.toml'),
      'domain = "LOWER"\ntype = "jdbc"\nurl = "sqlite:l.db"\n',
    );
    await a.manager.rescan(ACME);
    const paths = await server.database.db.selectFrom('registry_resources').select('path').execute();
    expect(paths).toEqual([]);
    expect(a.lines.join('\n')).toContain('not a store domain');
  });
});
