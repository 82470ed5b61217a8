import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { scratchFolder } from '../helpers/databases.js';

const CLI = path.resolve('bin/tessera.js');

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function folder(label: string): string {
  const scratch = scratchFolder(label);
  cleanups.push(scratch.remove);
  return scratch.dir;
}

describe('every CLI refusal says what to do next', () => {
  it('tessera status on a folder that is not a home: exit 2, the missing config named, a next step', () => {
    const home = path.join(folder('nohome'), 'typo');
    const result = cli(['status', '--home', home]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      `tessera: No Tessera home here: ${path.join(home, 'conf', 'tessera.toml')}`,
    );
    expect(result.stderr).toMatch(/\n {2}next: Name the home folder that holds conf\/tessera\.toml \(--home/);
  });

  it('a TOML syntax error in conf/tessera.toml: exit 2, file:line:column, a next step (start and status)', () => {
    const home = folder('badtoml');
    mkdirSync(path.join(home, 'conf'));
    const file = path.join(home, 'conf', 'tessera.toml');
    writeFileSync(file, 'format = "2.0"\n[server]\nport = = 3\n');
    for (const command of ['status', 'start']) {
      const result = cli([command, '--home', home], { PORT: '0' });
      expect(result.status, command).toBe(2);
      expect(result.stderr, command).toContain(`tessera: ${file}:3:8: Invalid TOML document`);
      expect(result.stderr, command).toContain(`\n  next: Fix the TOML syntax at line 3 of ${file}`);
    }
  });
});
