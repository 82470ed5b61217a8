import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchFolder } from '../helpers/databases.js';

const SCRIPT = path.resolve('scripts/check-engine-branches.mjs');

function check(folder?: string) {
  return spawnSync(process.execPath, folder === undefined ? [SCRIPT] : [SCRIPT, folder], {
    encoding: 'utf8',
  });
}

describe('scripts/check-engine-branches.mjs: engine names are compared only in the dialects', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function sourceFolder(files: Record<string, string>): string {
    const { dir, remove } = scratchFolder('engine-branches');
    cleanups.push(remove);
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), text);
    }
    return dir;
  }

  it('fails on a comparison with an engine name outside src/db/dialects/, naming each file and line', () => {
    const dir = sourceFolder({
      'registry/schema.ts': [
        "import { sql } from 'kysely';",
        '// a comment may say sqlite === "sqlite" without harm',
        "const blob = kind === 'postgres' ? sql`bytea` : sql`blob`;",
        '',
      ].join('\n'),
      'upgrade/step.ts': [
        'switch (kind) {',
        '  case "mysql":',
        '    break;',
        '}',
        "if ('sqlite' !== target.kind) throw new Error();",
        '',
      ].join('\n'),
      'fine.ts': "const url = 'sqlite:repository/database/tessera.db';\nconst other = kind === 'file';\n",
    });
    const result = check(dir);
    expect(result.status).toBe(1);
    const listed = result.stderr.split('\n').filter((line) => /:\d+: /.test(line));
    expect(listed.map((line) => line.replace(/: .*$/, '').replace(/^.*engine-branches-[^/]+\//, ''))).toEqual(
      ['registry/schema.ts:3', 'upgrade/step.ts:2', 'upgrade/step.ts:5'],
    );
    expect(result.stderr).toContain("kind === 'postgres'");
    expect(result.stderr).toContain('3 comparison(s)');
  });

  it('lets the dialects and the URL parser name engines', () => {
    const dir = sourceFolder({
      'db/dialects/mysql/index.ts': "if (target.kind === 'sqlite') throw new Error();\n",
      'db/url.ts': "const user = kind === 'postgres' ? 'postgres' : 'root';\n",
    });
    const result = check(dir);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it("passes on Tessera's own src", () => {
    const result = check();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
