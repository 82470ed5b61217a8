import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { startServer } from '../../src/server/start.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { writeConfig } from '../helpers/server.js';

// SQLite has no pool (one better-sqlite3 handle per database), so database.pool_size concerns the servers.
const POOLED_KINDS: readonly DatabaseKind[] = ['postgres', 'mysql'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('database.pool_size bounds the connections a pool holds', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function open(scratch: ScratchDatabase, poolSize?: number): Promise<Database<unknown>> {
    const database = await openDatabase<unknown>(scratch.url, scratch.home, { poolSize });
    cleanups.push(() => database.close());
    return database;
  }

  /**
   * Asks `database` for `wanted` connections at once, each held until all are counted, and answers how
   * many it handed out concurrently and how many sessions the server saw from it meanwhile.
   */
  async function holdConnections(database: Database<unknown>, observer: Database<unknown>, wanted: number) {
    let held = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holders = Array.from({ length: wanted }, () =>
      database.db.connection().execute(async (connection) => {
        await connection.selectNoFrom((eb) => eb.val(1).as('one')).execute();
        held += 1;
        await released;
      }),
    );
    // Long enough for a pool that would open every connection to have done so.
    await sleep(1500);
    const heldAtOnce = held;
    // The observer's own session is not listed; any session left is one of the pool's.
    const serverSessions = (await observer.dialect.liveSessions(observer.db)).length;
    release();
    await Promise.all(holders);
    return { heldAtOnce, serverSessions, servedInTheEnd: held };
  }

  for (const kind of POOLED_KINDS) {
    it(`${kind}: a pool of 2 holds at most 2 connections while 6 are asked for, and serves all 6 in turn`, async () => {
      const scratch = await scratchDatabase(kind, 'pool');
      cleanups.push(() => scratch.drop());
      const observer = await open(scratch, 1);
      const database = await open(scratch, 2);

      const outcome = await holdConnections(database, observer, 6);

      expect(outcome).toEqual({ heldAtOnce: 2, serverSessions: 2, servedInTheEnd: 6 });
    });

    it(`${kind}: without a pool size the pool holds up to the documented default of 10`, async () => {
      const scratch = await scratchDatabase(kind, 'pool');
      cleanups.push(() => scratch.drop());
      const observer = await open(scratch, 1);
      const database = await open(scratch);

      const outcome = await holdConnections(database, observer, 12);

      expect(outcome).toEqual({ heldAtOnce: 10, serverSessions: 10, servedInTheEnd: 12 });
    });

    it(`${kind}: the server opens its database with the configured pool_size`, async () => {
      const scratch = await scratchDatabase(kind, 'pool');
      cleanups.push(() => scratch.drop());
      const home = path.join(scratch.home, 'home');
      writeConfig(home, scratch.url);
      const configFile = path.join(home, 'conf', 'tessera.toml');
      writeFileSync(
        configFile,
        readFileSync(configFile, 'utf8').replace(/^pool_size = 10$/m, 'pool_size = 2'),
      );
      const server = await startServer({ home, port: 0, host: '127.0.0.1', stdoutLogs: false });
      cleanups.push(() => server.close());
      const observer = await open(scratch, 1);

      const outcome = await holdConnections(server.context.database as Database<unknown>, observer, 6);

      expect(server.context.config.database.poolSize).toBe(2);
      expect(outcome).toEqual({ heldAtOnce: 2, serverSessions: 2, servedInTheEnd: 6 });
    });
  }
});
