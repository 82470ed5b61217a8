import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { defaultConfigText } from '../../src/config/schema.js';
import { type Database, openDatabase } from '../../src/db/connection.js';
import type { RegistrySchema } from '../../src/registry/schema.js';
import { type RunningServer, startServer } from '../../src/server/start.js';
import { type ScratchDatabase, scratchDatabase } from '../helpers/databases.js';
import { ADMIN_PASSWORD, writeConfig } from '../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME: [string, string] = ['admin@acme.com', 'acme-admin-pw'];
const BASE = '/api/v1/tenants/acme.com/registry';

describe('registry mounts (server on SQLite, a mount on MariaDB, a mount that is down)', () => {
  let local: ScratchDatabase;
  let maria: ScratchDatabase;
  let server: RunningServer;
  let mounted: Database<RegistrySchema>;

  const call = async (method: string, route: string, body?: unknown, as: [string, string] = ACME) => {
    const response = await fetch(`${server.url}${route}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(as.join(':')).toString('base64')}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const text = (content: string) => ({ content, mediaType: 'text/plain' });

  beforeAll(async () => {
    local = await scratchDatabase('sqlite', 'regmount');
    maria = await scratchDatabase('mysql', 'regmount');
    const home = path.join(local.home, 'home');
    writeConfig(
      home,
      'sqlite:repository/database/tessera.db',
      `
[[registry.mounts]]
path = "/mounted/docs"
url = "${maria.url}"

[[registry.mounts]]
path = "/mounted/docs/down"
url = "mysql://root@127.0.0.1:1/nowhere"
`,
    );
    server = await startServer({
      home,
      port: 0,
      host: '127.0.0.1',
      adminPassword: ADMIN_PASSWORD,
      stdoutLogs: false,
    });
    expect(
      (await call('POST', '/api/v1/tenants', { domain: 'acme.com', adminPassword: ACME[1] }, SUPER)).status,
    ).toBe(201);
    mounted = await openDatabase<RegistrySchema>(maria.url, maria.home);
  });

  afterAll(async () => {
    await mounted?.close();
    await server?.close();
    await maria?.drop();
    await local?.drop();
  });

  it('keeps paths under the mount in MariaDB and everything else in the server database', async () => {
    expect((await call('PUT', `${BASE}/resources/mounted/docs/guide.md`, text('# Guide'))).status).toBe(201);
    expect((await call('PUT', `${BASE}/resources/mounted/docs/guide.md`, text('# Guide v2'))).status).toBe(
      201,
    );
    expect((await call('PUT', `${BASE}/resources/mounted/docs`, text('the mount point itself'))).status).toBe(
      201,
    );
    expect((await call('PUT', `${BASE}/resources/mounted/other.txt`, text('local'))).status).toBe(201);
    expect((await call('PUT', `${BASE}/resources/mounted/docsx`, text('local too'))).status).toBe(201);

    const inMaria = await mounted.db
      .selectFrom('registry_resources')
      .select(['path', 'version', sql<string>`cast(content as char)`.as('text')])
      .orderBy('path')
      .orderBy('version')
      .execute();
    expect(inMaria.map((r) => [r.path, r.version, r.text])).toEqual([
      ['/mounted/docs', 1, 'the mount point itself'],
      ['/mounted/docs/guide.md', 1, '# Guide'],
      ['/mounted/docs/guide.md', 2, '# Guide v2'],
    ]);
    const inSqlite = await server.context.database.db
      .selectFrom('registry_resources')
      .select('path')
      // The API's paths only: the server keeps its own entries (the tenant id mark) outside them.
      .where('path', 'like', '/%')
      .orderBy('path')
      .execute();
    expect(inSqlite.map((r) => r.path)).toEqual(['/mounted/docsx', '/mounted/other.txt']);

    const read = await call('GET', `${BASE}/resources/mounted/docs/guide.md?version=1`);
    expect(read.body).toMatchObject({ path: '/mounted/docs/guide.md', version: 1, content: '# Guide' });
    expect((await call('GET', `${BASE}/versions/mounted/docs/guide.md`)).body.versions).toHaveLength(2);
    expect((await call('POST', `${BASE}/restore/mounted/docs/guide.md`, { version: 1 })).body.version).toBe(
      3,
    );
    expect((await call('GET', `${BASE}/children/mounted`)).body.children).toEqual([
      '/mounted/docs',
      '/mounted/docsx',
      '/mounted/other.txt',
    ]);
    expect((await call('GET', `${BASE}/children/mounted/docs`)).body.children).toEqual([
      '/mounted/docs/down',
      '/mounted/docs/guide.md',
    ]);
    expect((await call('DELETE', `${BASE}/resources/mounted/docs/guide.md`)).status).toBe(204);
    expect(
      await mounted.db
        .selectFrom('registry_resources')
        .select('path')
        .where('path', '=', '/mounted/docs/guide.md')
        .execute(),
    ).toEqual([]);
  });

  it('answers 503 under a mount that is down, and 200 everywhere else', async () => {
    const down = await call('PUT', `${BASE}/resources/mounted/docs/down/x.txt`, text('x'));
    expect(down.status).toBe(503);
    expect(down.body.error).toBe('STORE_UNAVAILABLE');
    expect((await call('GET', `${BASE}/resources/mounted/docs/down/x.txt`)).status).toBe(503);
    expect((await call('GET', `${BASE}/children/mounted/docs/down`)).status).toBe(503);
    expect((await call('GET', `${BASE}/resources/mounted/other.txt`)).status).toBe(200);
    expect((await call('GET', `${BASE}/resources/mounted/docs`)).status).toBe(200);
    expect(server.context.registry.describeMounts().map((m) => [m.path, m.status])).toEqual([
      ['/mounted/docs/down', 'error'],
      ['/mounted/docs', 'up'],
    ]);
  });
});

describe('registry mounts in the config', () => {
  const config = (extra: string) => parseConfig(`${defaultConfigText()}${extra}`, 'tessera.toml');

  it('reads [[registry.mounts]] and leaves registry out when there is none', () => {
    expect(config('').registry).toBeUndefined();
    expect(
      config('\n[[registry.mounts]]\npath = "/a/b/"\nurl = "sqlite:repository/database/reg.db"\n').registry,
    ).toEqual({ mounts: [{ path: '/a/b', url: 'sqlite:repository/database/reg.db' }] });
  });

  it('refuses unknown keys, bad paths, bad URLs and duplicates, with line numbers', () => {
    const extra = [
      '',
      '[[registry.mounts]]',
      'path = "/ok"',
      'url = "mysql://root@127.0.0.1:3306/reg"',
      'owner = "me"',
      '',
      '[[registry.mounts]]',
      'path = "relative"',
      'url = "oracle://x"',
      '',
      '[[registry.mounts]]',
      'path = "/ok"',
      'url = 3',
      '',
    ].join('\n');
    const first = defaultConfigText().split('\n').length;
    let message = '';
    try {
      config(extra);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`tessera.toml:${first + 4}: registry.mounts[1].owner is not a known key`);
    expect(message).toContain(`tessera.toml:${first + 7}: registry.mounts[2].path is not a registry path`);
    expect(message).toContain(`tessera.toml:${first + 8}: registry.mounts[2].url is not a database URL`);
    expect(message).toContain(`tessera.toml:${first + 11}: registry.mounts[3].path mounts /ok a second time`);
    expect(message).toContain(
      `tessera.toml:${first + 12}: registry.mounts[3].url must be a non-empty string`,
    );
    expect(() => config('\n[registry]\nmounts = "x"\n')).toThrow(
      /registry\.mounts must be an array of tables/,
    );
  });
});
