import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_FORMAT } from '../../src/config/keys.js';
import { parseConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/db/connection.js';
import { HISTORY_TABLE, historyDb } from '../../src/releases/history.js';
import { CURRENT_SCHEMA_LEVEL } from '../../src/releases/matrix.js';
import { migrateTo } from '../../src/releases/migrator.js';
import { startServer } from '../../src/server/start.js';
import { runCli } from '../helpers/cli.js';
import { CLI } from '../helpers/cluster.js';
import {
  DATABASE_KINDS,
  type ScratchDatabase,
  scratchDatabase,
  scratchFolder,
} from '../helpers/databases.js';
import { freePort } from '../helpers/ports.js';
import { writeConfig } from '../helpers/server.js';

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

describe('first start', () => {
  it('lays out an empty home, writes the default config, creates the database and a generated admin password', async () => {
    const folder = scratchFolder('first');
    const home = path.join(folder.dir, 'home');
    let generated: string | undefined;
    const server = await startServer({
      home,
      port: 0,
      host: '127.0.0.1',
      stdoutLogs: false,
      onGeneratedPassword: (p) => {
        generated = p;
      },
    });
    try {
      expect(server.firstStart).toBe(true);
      for (const dir of [
        'conf/tessera.toml',
        'conf/secrets.key',
        'repository/database/tessera.db',
        'repository/deployment/server/webapps',
        'repository/deployment/server/userstores',
        'repository/tenants',
        'logs',
        'backups',
      ]) {
        expect(existsSync(path.join(home, dir)), dir).toBe(true);
      }
      expect(generated).toMatch(/^[A-Za-z0-9_-]{16}$/);
      const response = await fetch(`${server.url}/api/v1/authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: generated }),
      });
      expect(await response.json()).toEqual({
        tenant: 'carbon.super',
        user: 'admin',
        store: 'PRIMARY',
        roles: ['admin'],
      });
      expect(parseConfig(readFileSync(path.join(home, 'conf/tessera.toml'), 'utf8')).server.port).toBe(9763);
    } finally {
      await server.close();
    }
    try {
      const again = await startServer({ home, port: 0, host: '127.0.0.1', stdoutLogs: false });
      expect(again.firstStart).toBe(false);
      await again.close();
    } finally {
      folder.remove();
    }
  });

  it('`tessera start` takes the port from PORT, prints the generated password once and never logs it', async () => {
    const folder = scratchFolder('cli-start');
    const port = await freePort();
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, 'start', '--home', folder.dir], {
      env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: '' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok === true,
      );
      const password = /password: (\S+)/.exec(stdout)?.[1];
      expect(password).toBeDefined();
      const tenants = await fetch(`http://127.0.0.1:${port}/api/v1/tenants`, {
        headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
      });
      expect(tenants.status).toBe(200);
      const log = readFileSync(path.join(folder.dir, 'logs', 'tessera.log'), 'utf8');
      expect(log).not.toContain(password as string);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      folder.remove();
    }
  });
});

describe('bad configuration and environment', () => {
  it('reports TOML syntax errors and unknown or invalid keys with their line numbers', () => {
    expect(() => parseConfig('format = "2.1"\n[server]\nport = = 3\n', 'tessera.toml')).toThrow(
      /tessera\.toml:3:/,
    );
    try {
      parseConfig('format = "2.1"\n[server]\nport = "eighty"\nhots = "x"\n', 'tessera.toml');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('tessera.toml:3: server.port must be a whole number');
      expect((error as Error).message).toContain('tessera.toml:4: server.hots is not a known key');
    }
    expect(() => parseConfig('[http]\nport = 9763\n')).toThrow(/1\.0 format/);
    // A 2.0 config (2.0.0, 2.0.1) is not read as it is either: the upgrade rewrites it by its rules.
    expect(() => parseConfig('format = "2.0"\n[server]\nport = 9763\n')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('in the Tessera 2.0 format; this release reads the 2.1 format'),
        hint: expect.stringContaining('tessera upgrade'),
      }),
    );
  });

  it('refuses a port in use with PORT_IN_USE', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const folder = scratchFolder('port');
    try {
      await expect(
        startServer({
          home: folder.dir,
          port,
          host: '127.0.0.1',
          adminPassword: 'admin-password',
          stdoutLogs: false,
        }),
      ).rejects.toMatchObject({
        code: 'PORT_IN_USE',
      });
    } finally {
      blocker.close();
      folder.remove();
    }
  });

  it('refuses a database URL that cannot connect, with DB_CONNECT_FAILED and exit code 1', async () => {
    const folder = scratchFolder('noconnect');
    writeConfig(folder.dir, 'postgres://postgres@127.0.0.1:1/nothing');
    try {
      await expect(startServer({ home: folder.dir, port: 0, stdoutLogs: false })).rejects.toMatchObject({
        code: 'DB_CONNECT_FAILED',
      });
      const result = cli(['status', '--home', folder.dir]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('Cannot connect to PostgreSQL');
    } finally {
      folder.remove();
    }
  });
});

describe.each(DATABASE_KINDS)('version guard on %s', (kind) => {
  let scratch: ScratchDatabase;
  afterEach(async () => scratch?.drop());

  async function homeAt(
    level: string,
    tamper?: (db: ReturnType<typeof historyDb>) => Promise<unknown>,
  ): Promise<string> {
    scratch = await scratchDatabase(kind, 'guard');
    const database = await openDatabase<unknown>(scratch.url, scratch.home);
    await migrateTo(database, level);
    if (tamper) await tamper(historyDb(database.db));
    await database.close();
    writeConfig(scratch.home, scratch.url);
    return scratch.home;
  }

  it('refuses an older schema and names tessera upgrade (CLI exit 2)', async () => {
    const home = await homeAt('1.1.0');
    await expect(startServer({ home, port: 0, stdoutLogs: false })).rejects.toMatchObject({
      code: 'SCHEMA_OLDER',
    });
    const result = cli(['start', '--home', home]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('schema level 1.1.0');
    expect(result.stderr).toContain('tessera upgrade');
    const status = cli(['status', '--home', home]);
    expect(status.status).toBe(2);
    expect(status.stdout).toMatch(/schema level:\s+1\.1\.0/);
  });

  it('refuses a newer schema and names the release it needs', async () => {
    const home = await homeAt(CURRENT_SCHEMA_LEVEL, (db) =>
      db
        .insertInto(HISTORY_TABLE)
        .values({
          version: '9.0.0',
          script: 'migration.sql',
          checksum: 'a'.repeat(64),
          statements_total: 1,
          statements_applied: 1,
          started_at: 1,
          finished_at: 2,
          duration_ms: 1,
        })
        .execute(),
    );
    await expect(startServer({ home, port: 0, stdoutLogs: false })).rejects.toMatchObject({
      code: 'SCHEMA_NEWER',
    });
    const result = cli(['start', '--home', home]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Tessera 9.0.0 or later');
  });

  it('refuses a database whose applied scripts differ from the shipped ones', async () => {
    const home = await homeAt('2.0.0', (db) =>
      db
        .updateTable(HISTORY_TABLE)
        .set({ checksum: '0'.repeat(64) })
        .where('version', '=', '1.1.0')
        .execute(),
    );
    await expect(startServer({ home, port: 0, stdoutLogs: false })).rejects.toMatchObject({
      code: 'SCHEMA_TAMPERED',
    });
    const result = cli(['start', '--home', home]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('1.1.0/migration.sql');
  });

  it('reports a matching database with tessera status (exit 0)', async () => {
    const home = await homeAt(CURRENT_SCHEMA_LEVEL);
    const result = cli(['status', '--home', home, '--json']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      database: kind,
      schemaLevel: CURRENT_SCHEMA_LEVEL,
      matches: true,
      configFormat: CONFIG_FORMAT,
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('timed out waiting');
}
