import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchFolder } from '../helpers/databases.js';

const SCRIPT = path.resolve('scripts/check-layers.mjs');

function check(folder?: string) {
  return spawnSync(process.execPath, folder === undefined ? [SCRIPT] : [SCRIPT, folder], {
    encoding: 'utf8',
  });
}

describe('scripts/check-layers.mjs: imports point down the rooms of docs/architecture.md', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function sourceFolder(files: Record<string, string>): string {
    const { dir, remove } = scratchFolder('layers');
    cleanups.push(remove);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    return dir;
  }

  it('fails on an upward import, a peer import and an unknown room, naming each file and line', () => {
    const dir = sourceFolder({
      'db/connection.ts':
        "import { x } from '../errors.js';\nimport { startServer } from '../server/start.js';\n",
      'userstores/manager.ts': "import type { Deployer } from '../webapps/deployer.js';\n",
      'gadgets/thing.ts': 'export const thing = 1;\n',
      'errors.ts': 'export const x = 1;\n',
    });
    const result = check(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('src/db/connection.ts:2: db imports server (../server/start.js)');
    expect(result.stderr).toContain('src/userstores/manager.ts:1: userstores imports webapps');
    expect(result.stderr).toContain('room "gadgets" is not in any layer');
    expect(result.stderr).not.toContain('errors.js');
    expect(result.stderr).toContain('3 import(s) against the layering');
  });

  it('passes downward imports, imports inside a room and dynamic imports that point down', () => {
    const dir = sourceFolder({
      'cli/commands.ts': "const load = () => import('../server/start.js');\n",
      'server/start.ts':
        "import { openDatabase } from '../db/connection.js';\nimport { a } from './first-start.js';\n",
      'server/first-start.ts': 'export const a = 1;\n',
      'db/connection.ts': "import { x } from '../errors.js';\n",
      'errors.ts': 'export const x = 1;\n',
    });
    const result = check(dir);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('fails on a dynamic import that points up', () => {
    const dir = sourceFolder({ 'db/connection.ts': "const cli = await import('../cli/main.js');\n" });
    const result = check(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('src/db/connection.ts:1: db imports cli');
  });

  it("passes on this repository's own src/", () => {
    const result = check();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
