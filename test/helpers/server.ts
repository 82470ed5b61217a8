import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultConfigText, type LogLevel } from '../../src/config/schema.js';
import type { DatabaseKind } from '../../src/db/url.js';
import { type RunningServer, startServer } from '../../src/server/start.js';
import { type ScratchDatabase, scratchDatabase } from './databases.js';

export const ADMIN_PASSWORD = 'super-secret-admin-pw';

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert response bodies field by field
  body: any;
  headers: Headers;
}

export interface TestServer {
  server: RunningServer;
  scratch: ScratchDatabase;
  home: string;
  /** fetch against the server, JSON in and out, Basic auth when `as` is given. */
  call(method: string, url: string, options?: { as?: [string, string]; body?: unknown }): Promise<Reply>;
  stop(): Promise<void>;
}

/** The `Authorization` header of HTTP Basic for `[name, password]`. */
export function basicAuthorization([name, password]: readonly [string, string]): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

/** fetch against `baseUrl` + `route`, JSON in and out (a body that is not JSON stays text), Basic auth when `as` is given. */
export async function callJson(
  baseUrl: string,
  method: string,
  route: string,
  options: { as?: [string, string]; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.as) headers.authorization = basicAuthorization(options.as);
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    redirect: 'manual',
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body, headers: response.headers };
}

/** Writes a config of the current format pointing at `databaseUrl` into a fresh home. */
export function writeConfig(home: string, databaseUrl: string, extra = ''): void {
  mkdirSync(path.join(home, 'conf'), { recursive: true });
  const text = defaultConfigText()
    .replace(/^url = .*$/m, `url = "${databaseUrl}"`)
    .replace('level = "info"', 'level = "warn"');
  writeFileSync(path.join(home, 'conf', 'tessera.toml'), `${text}${extra}`);
}

/** An in-process server on `home`, on a free port of 127.0.0.1, with the tests' admin password and no stdout logs. */
export function startServerOn(home: string, logLevel: LogLevel): Promise<RunningServer> {
  return startServer({
    home,
    port: 0,
    host: '127.0.0.1',
    adminPassword: ADMIN_PASSWORD,
    stdoutLogs: false,
    logLevel,
  });
}

/**
 * A server on a fresh database of `kind`, on a free port, with the super tenant admin's password known;
 * `configure` is text added to its tessera.toml, or a function that rewrites it (and may lay files into the home) first.
 */
export async function startTestServer(
  kind: DatabaseKind,
  configure: string | ((text: string, home: string) => string) = '',
): Promise<TestServer> {
  const scratch = await scratchDatabase(kind, 'server');
  const home = path.join(scratch.home, 'home');
  const url = kind === 'sqlite' ? 'sqlite:repository/database/tessera.db' : scratch.url;
  writeConfig(home, url);
  const configFile = path.join(home, 'conf', 'tessera.toml');
  const text = readFileSync(configFile, 'utf8');
  writeFileSync(configFile, typeof configure === 'string' ? `${text}${configure}` : configure(text, home));
  const server = await startServerOn(home, 'debug');
  return {
    server,
    scratch,
    home,
    call: (method, route, options) => callJson(server.url, method, route, options),
    async stop() {
      await server.close();
      await scratch.drop();
    },
  };
}
