import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, dropDatabase } from '../../src/db/connection.js';
import type { DatabaseKind } from '../../src/db/url.js';

export const DATABASE_KINDS: readonly DatabaseKind[] = ['sqlite', 'postgres', 'mysql'];

const SERVERS = {
  postgres: process.env.TESSERA_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432',
  mysql: process.env.TESSERA_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306',
} as const;

export interface ScratchDatabase {
  url: string;
  /** The folder relative SQLite URLs resolve against, also usable as a scratch home. */
  home: string;
  drop(): Promise<void>;
}

/** A freshly created, empty database on the machine's real server (or a new SQLite file). */
export async function scratchDatabase(kind: DatabaseKind, label = 'db'): Promise<ScratchDatabase> {
  const home = mkdtempSync(path.join(os.tmpdir(), `tessera-${label}-`));
  const name = `tessera_test_${label.replace(/[^a-z0-9_]/gi, '_')}_${randomBytes(5).toString('hex')}`;
  const url = kind === 'sqlite' ? `sqlite:${name}.db` : `${SERVERS[kind]}/${name}`;
  await createDatabase(url, home);
  return {
    url,
    home,
    async drop() {
      await dropDatabase(url, home);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A scratch folder removed by the returned function. */
export function scratchFolder(label = 'home'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `tessera-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
