import { buildZip } from '../webapps/helpers.js';
import { basicAuthorization } from './server.js';

/** What a browser sends when it navigates. */
export const HTML = 'text/html,application/xhtml+xml';

/** The cookies one browser holds, by name (paths are checked by the server's answers, not here). */
export type Jar = Map<string, string>;

export interface Answer {
  status: number;
  location: string | null;
  headers: Headers;
  text: string;
}

export function cookieHeader(jar: Jar): string {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

/** Takes every Set-Cookie into `jar` (Max-Age=0 removes). */
export function keep(jar: Jar, headers: Headers): void {
  for (const line of headers.getSetCookie()) {
    const [pair = ''] = line.split(';');
    const [name = '', value = ''] = pair.split('=');
    if (/Max-Age=0/.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
}

export async function browse(
  base: string,
  jar: Jar,
  url: string,
  init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { accept: HTML, cookie: cookieHeader(jar), ...init.headers };
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(`${base}${url}`, {
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    headers,
    redirect: 'manual',
    ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
  });
  keep(jar, response.headers);
  return {
    status: response.status,
    location: response.headers.get('location'),
    headers: response.headers,
    text: await response.text(),
  };
}

export function csrfOf(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  if (!match?.[1]) throw new Error(`no csrf field in ${page}`);
  return match[1];
}

/**
 * A node app (`node:http` Server, fed by Tessera) for the sign-in tests: `/` shows the user it was told as
 * HTML (with a link to the tenant's sign-out), `/headers` answers every header it received as JSON, each
 * answer tries to set Tessera's session cookie beside one of its own, and an upgrade is answered 101
 * naming the user it was told.
 */
export const ECHO_APP = `
import http from 'node:http';
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
const server = http.createServer((req, res) => {
  res.setHeader('set-cookie', ['tessera_app_session=forged-by-app; Path=/', 'app_pref=dark; Path=/']);
  if (req.url === '/headers') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
    return;
  }
  res.setHeader('content-type', 'text/html; charset=utf-8');
  const user = req.headers['x-tessera-user'] ?? '';
  res.end('<!doctype html><title>' + escape(process.env.TESSERA_APP) + '</title><p id="user">' + escape(user) + '</p><a id="out" href="' + escape(req.headers['x-forwarded-prefix'].replace(/\\/[^/]+$/, '')) + '/.tessera/sign-out">Sign out</a>');
});
server.on('upgrade', (req, socket) => {
  socket.end('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\nX-Seen-User: ' + (req.headers['x-tessera-user'] ?? '') + '\\r\\n\\r\\n');
});
export default server;
`;

/** Uploads `files` as app `name` of `tenant`, waiting for it to run (node apps); fails the test otherwise. */
export async function uploadApp(
  base: string,
  tenant: string,
  name: string,
  as: [string, string],
  files: Record<string, string>,
): Promise<void> {
  const response = await fetch(`${base}/api/v1/tenants/${tenant}/webapps?name=${name}`, {
    method: 'POST',
    headers: { authorization: basicAuthorization(as), 'content-type': 'application/zip' },
    body: await buildZip(files),
  });
  if (response.status !== 201)
    throw new Error(`upload of ${name}: ${response.status} ${await response.text()}`);
}

/** A node app with `login = true` showing its user: `ECHO_APP`'s files. */
export const ECHO_APP_FILES: Record<string, string> = {
  'tessera-app.toml': 'runtime = "node"\nentry = "server.mjs"\nlogin = true\n',
  'server.mjs': ECHO_APP,
};
