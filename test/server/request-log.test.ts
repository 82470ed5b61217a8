import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { type ServerLogLine, serverLogLines } from '../helpers/server-log.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];

describe('the request log (logs/tessera.log)', () => {
  let t: TestServer;
  let lines: ServerLogLine[];

  beforeAll(async () => {
    t = await startTestServer('sqlite'); // logs at debug, so successes are in the file too
    expect((await t.call('GET', '/api/v1/tenants?password=hunter2&limit=5', { as: SUPER })).status).toBe(200);
    expect(
      (await t.call('POST', '/api/v1/tenants', { as: SUPER, body: { domain: 'acme.com' } })).status,
    ).toBe(400);
    expect(
      (await t.call('POST', '/api/v1/authenticate', { body: { username: 'admin', password: 'wrong' } }))
        .status,
    ).toBe(401);
    // A failure of the server's own (here: the tenant list cannot be read), answered 500.
    const tenants = t.server.context.tenants;
    const list = tenants.list.bind(tenants);
    tenants.list = async () => {
      throw new Error('tenant table unreadable');
    };
    expect((await t.call('GET', '/api/v1/tenants', { as: SUPER })).status).toBe(500);
    tenants.list = list;
    await t.server.close();
    lines = serverLogLines(t.home);
  }, 60_000);
  afterAll(async () => {
    // Stopped already when the log was read.
    await t?.scratch.drop();
  });

  const requestLines = () => lines.filter((line) => line.req !== undefined);

  it('has exactly one line per request, with method, URL, status and time', () => {
    expect(requestLines().map((line) => line.msg.replace(/ [\d.]+ ms$/, ' N ms'))).toEqual([
      'GET /api/v1/tenants?password=***&limit=5 200 N ms',
      'POST /api/v1/tenants 400 N ms',
      'POST /api/v1/authenticate 401 N ms',
      'GET /api/v1/tenants 500 N ms',
    ]);
    // Nothing else carries a request id: no "incoming request", no separate error line.
    expect(lines.filter((line) => line.reqId !== undefined)).toHaveLength(4);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });

  it('logs a success at debug, a 400 or 401 at info with its code and reason and no stack', () => {
    const [ok, bad, refused] = requestLines();
    expect(ok).toMatchObject({ level: 20, res: { statusCode: 200 } });
    expect(bad).toMatchObject({
      level: 30,
      error: 'BAD_REQUEST',
      reason: expect.stringContaining('adminPassword'),
    });
    expect(refused).toMatchObject({ level: 30, error: 'UNAUTHENTICATED', reason: 'Invalid credentials.' });
    for (const line of [ok, bad, refused]) expect(line?.err).toBeUndefined();
    expect(JSON.stringify([ok, bad, refused])).not.toContain('    at ');
  });

  it('logs a 500 at error with the stack, once', () => {
    const failed = requestLines()[3];
    expect(failed).toMatchObject({
      level: 50,
      error: 'INTERNAL',
      err: { message: 'tenant table unreadable' },
    });
    expect(failed?.err?.stack).toContain('    at ');
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    expect(text.split('tenant table unreadable').length - 1).toBe(2); // err.message and the stack's first line
  });
});
