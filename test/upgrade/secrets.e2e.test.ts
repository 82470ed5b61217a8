import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { dropDatabase, openDatabase } from '../../src/db/connection.js';
import { type DatabaseKind, withDatabaseName } from '../../src/db/url.js';
import { buildFixture, storesDatabaseUrl } from '../../src/releases/fixtures/build.js';
import { startServer } from '../../src/server/start.js';
import { runCli } from '../helpers/cli.js';
import { DATABASE_KINDS, scratchDatabase } from '../helpers/databases.js';
import { looseEntries, modeOf } from '../helpers/modes.js';

const PASSWORD = 'fixture-pw';
const SECRET = 'Db-Secret-4d7e1f';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
});

/**
 * URLs that carry a password the server really checks where it can: a MariaDB account made for the test
 * (root has none here); PostgreSQL trusts local connections, so its password is carried and ignored.
 */
async function withPasswords(kind: DatabaseKind, rootUrl: string, home: string) {
  if (kind === 'sqlite') return (url: string) => url;
  let user = 'postgres';
  if (kind === 'mysql') {
    user = `tessera_pw_${Math.random().toString(36).slice(2, 8)}`;
    const root = await openDatabase<unknown>(rootUrl, home);
    try {
      await sql.raw(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${SECRET}'`).execute(root.db);
      await sql
        .raw(`GRANT ALL PRIVILEGES ON *.* TO '${user}'@'127.0.0.1' WITH GRANT OPTION`)
        .execute(root.db);
    } finally {
      await root.close();
    }
    cleanups.push(async () => {
      const again = await openDatabase<unknown>(rootUrl, home);
      await sql
        .raw(`DROP USER '${user}'@'127.0.0.1'`)
        .execute(again.db)
        .finally(() => again.close());
    });
  }
  return (url: string) => {
    const parsed = new URL(url);
    parsed.username = user;
    parsed.password = SECRET;
    return parsed.toString();
  };
}

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env, timeoutMs: 180_000 });

describe('database passwords and an upgraded home', () => {
  for (const kind of DATABASE_KINDS) {
    it(`never leave memory, and the new home is owner-only (${kind})`, async () => {
      const production = await scratchDatabase(kind, 'prodpw');
      cleanups.push(() => production.drop());
      const staging = await scratchDatabase(kind, 'stagingpw');
      cleanups.push(() => staging.drop());
      const secret = await withPasswords(kind, production.url, production.home);
      const oldHome = path.join(production.home, 'old');
      const newHome = path.join(production.home, 'new');
      const productionUrl = kind === 'sqlite' ? undefined : secret(production.url);
      await buildFixture({
        release: '1.1.0',
        home: oldHome,
        databaseUrl: productionUrl,
        tenants: 2,
        users: 4,
        password: PASSWORD,
      });
      if (productionUrl) {
        expect(readFileSync(path.join(oldHome, 'conf', 'tessera.toml'), 'utf8')).toContain(SECRET);
        cleanups.push(() => dropDatabase(storesDatabaseUrl(productionUrl, oldHome), oldHome));
      }
      const stagingUrl = kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : secret(staging.url);
      const upgrade = (extra: string[], env: Record<string, string> = {}, url = stagingUrl) =>
        cli(
          ['upgrade', '--from-home', oldHome, '--home', newHome, '--staging-db', url, '--yes', ...extra],
          env,
        );

      const dryRun = upgrade(['--dry-run']);
      expect(dryRun.status, dryRun.stderr).toBe(0);
      expect(dryRun.stdout + dryRun.stderr).not.toContain(SECRET);

      // Killed after the backup: the journal written so far holds no password, and resuming needs the URL.
      const killed = upgrade([], { TESSERA_UPGRADE_CRASH_AT: 'after:backup' });
      expect(killed.signal).toBe('SIGKILL');
      const journalFile = path.join(newHome, 'upgrade', 'journal.json');
      expect(readFileSync(journalFile, 'utf8')).not.toContain(SECRET);
      expect(modeOf(journalFile)).toBe(0o600);
      if (kind !== 'sqlite') {
        const other = upgrade(['--resume'], {}, withDatabaseName(stagingUrl, 'another_staging'));
        expect(other.status).toBe(2);
        expect(other.stderr).toMatch(/--staging-db/);
        expect(other.stderr).not.toContain(SECRET);
        // Production's URL is read again from the old home, which must still name the same database.
        const config = path.join(oldHome, 'conf', 'tessera.toml');
        const original = readFileSync(config, 'utf8');
        writeFileSync(config, original.replace(production.url.split('/').pop() as string, 'moved_elsewhere'));
        const moved = upgrade(['--resume']);
        expect(moved.status).toBe(2);
        expect(moved.stderr).toMatch(/moved_elsewhere/);
        expect(moved.stderr).not.toContain(SECRET);
        writeFileSync(config, original);
      }
      const resumed = upgrade(['--resume', '--check-login', `admin:${PASSWORD}`]);
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(resumed.stdout + resumed.stderr).not.toContain(SECRET);

      const journal = readFileSync(journalFile, 'utf8');
      expect(journal).not.toContain(SECRET);
      expect(JSON.parse(journal).status).toBe('completed');
      if (kind !== 'sqlite') expect(journal).toContain(':***@');
      const text = cli(['upgrade', 'report', '--home', newHome]);
      expect(text.status).toBe(0);
      expect(text.stdout).toMatch(/completed/);
      expect(text.stdout).not.toContain(SECRET);
      const json = cli(['upgrade', 'report', '--home', newHome, '--json']);
      expect(JSON.parse(json.stdout).status).toBe('completed');
      expect(json.stdout).not.toContain(SECRET);

      // The new home needs the passwords (its config), so it is its owner's alone.
      if (kind !== 'sqlite')
        expect(readFileSync(path.join(newHome, 'conf', 'tessera.toml'), 'utf8')).toContain(SECRET);
      expect(looseEntries(newHome)).toEqual([]);
      const archive = readdirSync(path.join(newHome, 'backups'), { recursive: true, encoding: 'utf8' }).find(
        (name) => path.basename(name) === 'old-home.tar.gz',
      );
      for (const file of [
        'conf/tessera.toml',
        'upgrade/journal.json',
        `backups/${archive}`,
        'logs/tessera.log',
      ])
        expect(modeOf(path.join(newHome, file)), file).toBe(0o600);

      const server = await startServer({
        home: newHome,
        port: 0,
        host: '127.0.0.1',
        stdoutLogs: false,
        logLevel: 'debug',
      });
      try {
        const response = await fetch(`${server.url}/api/v1/upgrade/report`, {
          headers: { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` },
        });
        expect(response.status).toBe(200);
        const body = await response.text();
        expect(JSON.parse(body).journal.steps.plan.status).toBe('done');
        expect(body).not.toContain(SECRET);
      } finally {
        await server.close();
      }
      const log = readFileSync(path.join(newHome, 'logs', 'tessera.log'), 'utf8');
      expect(log).toContain('Tessera started');
      expect(log).not.toContain(SECRET);
    });
  }
});
