import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCache } from '../../src/cache/memory-cache.js';
import { LocalBus } from '../../src/cluster/bus.js';
import { homeLayout, userstoresFolder } from '../../src/home/layout.js';
import { SharedStoreDefinitions } from '../../src/userstores/caching/shared-definitions.js';
import { storeSharing } from '../../src/userstores/caching/store-sharing.js';
import { UserStoreManager } from '../../src/userstores/manager.js';
import { scratchFolder } from '../helpers/databases.js';
import { capturingLogger, type ServerDatabase, serverDatabase } from '../userstores/helpers.js';

const ACME = 1;

/**
 * Two nodes in one process on one database (as in test/userstores/caching/shared-definitions.test.ts),
 * both in maintenance while `held` is true: a store file written by hand is neither published (a write to
 * the shared database) nor loaded until it is false again.
 */
describe('hand-made user store files in maintenance mode', () => {
  let server: ServerDatabase;
  let held = false;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await serverDatabase('sqlite', { [ACME]: 'acme.com' });
  });
  afterAll(async () => {
    await server?.dispose();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    held = false;
  });

  async function startNode() {
    const home = scratchFolder('node');
    const layout = homeLayout(home.dir);
    const folder = userstoresFolder(layout, ACME);
    mkdirSync(folder, { recursive: true });
    const { logger, lines } = capturingLogger();
    const cache = new MemoryCache();
    const definitions = new SharedStoreDefinitions(server.database.db, new LocalBus(), cache, logger, {
      publishingHeld: () => held,
    });
    const manager = new UserStoreManager({
      database: server.database,
      layout,
      logger,
      sharing: storeSharing(cache, definitions),
      debounceMs: 20,
    });
    await manager.start([ACME]);
    cleanups.push(async () => {
      await manager.close();
      home.remove();
    });
    return { manager, folder, lines };
  }

  const definition = (database: string) =>
    `domain = "LATER"\ntype = "jdbc"\nurl = "postgres://u:p@127.0.0.1:1/${database}"\n`;
  const sharedRows = () =>
    server.database.db
      .selectFrom('registry_resources')
      .select('path')
      .where('path', 'like', 'userstores:%')
      .execute();

  it('waits until off, then publishes and loads it; a removal by hand waits too', async () => {
    const [a, b] = [await startNode(), await startNode()];
    held = true;
    writeFileSync(path.join(a.folder, 'LATER.toml'), definition('later'));
    await a.manager.rescan(ACME);
    await b.manager.rescan(ACME);
    expect(await sharedRows()).toEqual([]);
    expect(a.manager.describe(ACME).map((s) => s.domain)).toEqual(['PRIMARY']);
    expect(existsSync(path.join(b.folder, 'LATER.toml'))).toBe(false);
    expect(a.lines.join('\n')).toContain('published and loaded once maintenance mode is off');

    held = false;
    await a.manager.rescan(ACME);
    await b.manager.rescan(ACME);
    expect(await sharedRows()).toEqual([{ path: 'userstores:LATER' }]);
    expect(a.manager.describe(ACME).map((s) => s.domain)).toEqual(['PRIMARY', 'LATER']);
    expect(readFileSync(path.join(b.folder, 'LATER.toml'), 'utf8')).toBe(definition('later'));

    held = true;
    rmSync(path.join(a.folder, 'LATER.toml'));
    await a.manager.rescan(ACME);
    await b.manager.rescan(ACME);
    expect(await sharedRows()).toEqual([{ path: 'userstores:LATER' }]);
    expect(a.manager.describe(ACME).map((s) => s.domain)).toEqual(['PRIMARY', 'LATER']);
    held = false;
    await a.manager.rescan(ACME);
    await b.manager.rescan(ACME);
    expect(await sharedRows()).toEqual([]);
    expect(existsSync(path.join(b.folder, 'LATER.toml'))).toBe(false);
  });
});
