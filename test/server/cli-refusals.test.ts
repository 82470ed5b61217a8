import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start.js';
import { runCli } from '../helpers/cli.js';
import { DATABASE_KINDS, scratchDatabase, scratchFolder } from '../helpers/databases.js';
import { writeConfig } from '../helpers/server.js';

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

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

/** Every file and folder under `root` with its size and modification time: what a start would change. */
function treeState(root: string): Record<string, string> {
  const state: Record<string, string> = {};
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const stat = statSync(file);
    state[path.relative(root, file)] = `${stat.size} ${stat.mtimeMs}`;
  }
  state['.'] = String(statSync(root).mtimeMs);
  return state;
}

describe.each(DATABASE_KINDS)('a port in use on %s', (kind) => {
  it('is refused before the database, the user stores and the apps are touched (exit 2, a next step)', async () => {
    const scratch = await scratchDatabase(kind, 'portused');
    cleanups.push(() => void scratch.drop());
    const home = path.join(scratch.home, 'home');
    writeConfig(home, kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : scratch.url);
    const first = await startServer({
      home,
      port: 0,
      host: '127.0.0.1',
      adminPassword: 'pw-pw-pw-pw',
      stdoutLogs: false,
    });
    await first.close();
    // An app a start would deploy (and log) if it got that far.
    const app = path.join(home, 'repository', 'deployment', 'server', 'webapps', 'hello');
    mkdirSync(app);
    writeFileSync(path.join(app, 'index.html'), '<p>hello</p>');

    const blocker = net.createServer().listen(0);
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const before = treeState(home);
      const started = Date.now();
      const result = cli(['start', '--home', home], { PORT: String(port) });
      const elapsedMs = Date.now() - started;
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`tessera: Port ${port} (from PORT) is already in use.`);
      expect(result.stderr).toContain(
        `\n  next: Stop whatever listens on ${port}, or choose a free port: PORT=`,
      );
      expect(result.stderr).toContain('server.port in conf/tessera.toml');
      expect(result.stdout).toBe('');
      // Nothing was opened, deployed or logged: not the database, the node lock, the app, the log file.
      expect(treeState(home)).toEqual(before);
      // In process (the CLI's own start-up takes seconds on a busy machine): refused at once.
      const inProcessStarted = performance.now();
      await expect(startServer({ home, port, host: '127.0.0.1', stdoutLogs: false })).rejects.toMatchObject({
        code: 'PORT_IN_USE',
      });
      const inProcessMs = performance.now() - inProcessStarted;
      expect(treeState(home)).toEqual(before);
      expect(inProcessMs).toBeLessThan(250);
      console.log(`port in use on ${kind}: CLI ${elapsedMs} ms, in process ${inProcessMs.toFixed(1)} ms`);
    } finally {
      blocker.close();
    }
  });
});
