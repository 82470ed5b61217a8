import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, listedCommand } from '../../src/cli/commands.js';
import { CURRENT_RELEASE, CURRENT_SCHEMA_LEVEL } from '../../src/releases/matrix.js';

// The compiled CLI, as `tessera` runs it (npm test builds first).
const MAIN = pathToFileURL(path.resolve('dist/cli/main.js')).href;

/** Packages that take most of a full load; CommonJS, so they show in the require cache once loaded. */
const HEAVY = ['fastify', 'pg', 'mysql2', 'better-sqlite3', 'ioredis'];

/** Runs the CLI with `args` in a fresh node and answers its output and the heavy packages it loaded. */
function runAndListHeavy(args: string[]): { status: number | null; stdout: string; heavy: string[] } {
  return runScriptAndListHeavy(`
    const { main } = await import(${JSON.stringify(MAIN)});
    await main(['node', 'tessera', ...${JSON.stringify(args)}]);
  `);
}

/** Runs `body` (an ES module's code) in a fresh node and answers its output and the heavy packages loaded. */
function runScriptAndListHeavy(body: string): { status: number | null; stdout: string; heavy: string[] } {
  const script = `
    import { createRequire } from 'node:module';
    const stdoutWrite = process.stdout.write.bind(process.stdout);
    ${body}
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    const heavy = ${JSON.stringify(HEAVY)}.filter((name) => loaded.some((file) => file.includes('/node_modules/' + name + '/')));
    stdoutWrite('\\nHEAVY ' + JSON.stringify(heavy) + '\\n');
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  const marker = result.stdout.lastIndexOf('\nHEAVY ');
  expect(marker, result.stderr).toBeGreaterThanOrEqual(0);
  return {
    status: result.status,
    stdout: result.stdout.slice(0, marker),
    heavy: JSON.parse(result.stdout.slice(marker + '\nHEAVY '.length)) as string[],
  };
}

describe('the CLI loads a command’s modules only when that command runs', () => {
  it('tessera version prints the release without loading the server, the drivers or the cache', () => {
    const run = runAndListHeavy(['version']);
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`tessera ${CURRENT_RELEASE} (schema level ${CURRENT_SCHEMA_LEVEL})\n`);
    expect(run.heavy).toEqual([]);
  });

  it('tessera --help lists every command without loading any of them', () => {
    const run = runAndListHeavy(['--help']);
    expect(run.status).toBe(0);
    for (const entry of COMMANDS) expect(run.stdout).toContain(`  ${entry.term} `);
    expect(run.heavy).toEqual([]);
  });

  it('a command that runs is loaded, with what it needs (the check above does see loaded packages)', () => {
    const run = runAndListHeavy(['status', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--home <dir>');
    // The embedded default's driver only: pg and mysql2 wait until a database of theirs is opened.
    expect(run.heavy).toEqual(['better-sqlite3']);
  });

  it('loads a server engine’s driver when a database of that engine is first opened, and not the other’s', () => {
    const connection = pathToFileURL(path.resolve('dist/db/connection.js')).href;
    const run = runScriptAndListHeavy(`
      const { openDatabase } = await import(${JSON.stringify(connection)});
      const database = await openDatabase('postgres://postgres@127.0.0.1:5432/postgres', process.cwd());
      await database.close();
    `);
    expect(run.status).toBe(0);
    expect(run.heavy).toContain('pg');
    expect(run.heavy).not.toContain('mysql2');
    expect(run.heavy).not.toContain('ioredis');
  });

  for (const entry of COMMANDS) {
    it(`${entry.name}: the listed name, description and help term are the loaded command's`, async () => {
      const loaded = await entry.load();
      const program = new Command('tessera').addCommand(loaded);
      const help = program.createHelp();
      expect(loaded.name()).toBe(entry.name);
      expect(loaded.description()).toBe(entry.description);
      expect(help.subcommandTerm(loaded)).toBe(entry.term);
      expect(listedCommand(entry).description()).toBe(entry.description);
    });
  }
});
