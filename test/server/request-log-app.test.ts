import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/start.js';
import { scratchDatabase } from '../helpers/databases.js';
import { basicAuthorization, startServerOn, writeConfig } from '../helpers/server.js';
import { type ServerLogLine, serverLogLines } from '../helpers/server-log.js';
import { buildZip } from '../webapps/helpers.js';
import { metricSample, SUPER } from './node-apps-helpers.js';

/**
 * The server-wide hooks around requests to a node app, at the default log level (info): the request log
 * skips a success without building its line, and still writes one line per refusal the app answered; the
 * metrics hook counts both by route and status. The hooks are callback hooks (no promise per request) and
 * the log's fast path asks the logger's level: this is what they must still do.
 */

const APP = `
export default function handler(req, res) {
  const status = req.url.startsWith('/ok') ? 200 : 404;
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': 3 });
  res.end(status === 200 ? 'ok\\n' : 'no\\n');
}
`;

describe('a node app’s requests at log level info', () => {
  const scratch = scratchDatabase('sqlite', 'reqlog_app');
  let home: string;
  let server: RunningServer | undefined;
  let lines: ServerLogLine[];
  let before: string;
  let metrics: string;

  beforeAll(async () => {
    home = path.join((await scratch).home, 'home');
    writeConfig(home, 'sqlite:repository/database/tessera.db');
    server = await startServerOn(home, 'info');
    const upload = await fetch(`${server.url}/api/v1/tenants/carbon.super/webapps?name=echo`, {
      method: 'POST',
      headers: { authorization: basicAuthorization(SUPER), 'content-type': 'application/zip' },
      body: await buildZip({
        'server.mjs': APP,
        'tessera-app.toml': 'runtime = "node"\nentry = "server.mjs"\n',
      }),
    });
    expect(upload.status).toBe(201);
    // Until the app answers (the front holds requests while it starts; a miss is retried).
    for (let i = 0; i < 100; i++) {
      const response = await fetch(`${server.url}/echo/ok`);
      await response.text();
      if (response.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    before = await (await fetch(`${server.url}/metrics`)).text();
    for (let i = 0; i < 3; i++) expect((await fetch(`${server.url}/echo/ok?i=${i}`)).status).toBe(200);
    expect((await fetch(`${server.url}/echo/missing?token=abc`)).status).toBe(404);
    metrics = await (await fetch(`${server.url}/metrics`)).text();
    await server.close();
    server = undefined;
    lines = serverLogLines(home);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await (await scratch).drop();
  });

  it('writes no line for an app’s 2xx and one info line, with the request id, for its 404', () => {
    const requestLines = lines.filter((line) => line.req !== undefined);
    expect(requestLines.filter((line) => line.req?.url.startsWith('/echo/ok?'))).toEqual([]);
    const missing = requestLines.filter((line) => line.req?.url.startsWith('/echo/missing'));
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({
      level: 30,
      req: { method: 'GET', url: '/echo/missing?token=***' },
      res: { statusCode: 404 },
    });
    expect(missing[0]?.msg).toMatch(/^GET \/echo\/missing\?token=\*\*\* 404 [\d.]+ ms$/);
    expect(missing[0]?.reqId).toMatch(/\S/);
  });

  it('counts the app’s requests by route and status in /metrics', () => {
    const count = (text: string, status: string) =>
      metricSample(text, 'tessera_http_requests_total', { method: 'GET', route: '/:app/*', status }) ?? 0;
    expect(count(metrics, '200') - count(before, '200')).toBe(3);
    expect(count(metrics, '404') - count(before, '404')).toBe(1);
  });
});
