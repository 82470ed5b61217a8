import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatLogLine } from '../../src/telemetry/log-format.js';
import { createLogger } from '../../src/telemetry/logger.js';

/** 14:03:07.045 local time today, as pino writes it (epoch milliseconds). */
const AT = new Date(2026, 0, 2, 14, 3, 7, 45).getTime();

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the terminal log format', () => {
  it('writes local HH:MM:SS.mmm, the level, the message and the useful fields; pid, hostname and reqId stay in the file', () => {
    const line = JSON.stringify({
      level: 30,
      time: AT,
      pid: 4242,
      hostname: 'vm',
      reqId: 'req-7',
      port: 9763,
      home: '/srv/tessera home',
      msg: 'Tessera started',
    });
    expect(formatLogLine(line, { colors: false })).toBe(
      '14:03:07.045 INFO  Tessera started port=9763 home="/srv/tessera home"',
    );
  });

  it('shows a request line by its message alone, and an error with its stack below, once', () => {
    const request = JSON.stringify({
      level: 20,
      time: AT,
      pid: 1,
      reqId: 'req-1',
      req: { method: 'GET', url: '/api/v1/tenants' },
      res: { statusCode: 200 },
      responseTime: 3.2,
      msg: 'GET /api/v1/tenants 200 3.2 ms',
    });
    expect(formatLogLine(request, { colors: false })).toBe(
      '14:03:07.045 DEBUG GET /api/v1/tenants 200 3.2 ms',
    );
    const failed = JSON.stringify({
      level: 50,
      time: AT,
      error: 'INTERNAL',
      err: {
        type: 'Error',
        message: 'boom',
        stack: 'Error: boom\n    at list (tenants.ts:1:1)\n    at route (app.ts:2:2)',
      },
      msg: 'GET /api/v1/tenants 500 1 ms',
    });
    expect(formatLogLine(failed, { colors: false }).split('\n')).toEqual([
      '14:03:07.045 ERROR GET /api/v1/tenants 500 1 ms error=INTERNAL',
      '    Error: boom',
      '    at list (tenants.ts:1:1)',
      '    at route (app.ts:2:2)',
    ]);
  });

  it('colours the level only when asked, and passes a line that is not JSON through', () => {
    const line = JSON.stringify({ level: 40, time: AT, msg: 'store down' });
    expect(formatLogLine(line, { colors: true })).toBe(
      '\u001b[2m14:03:07.045\u001b[0m \u001b[33mWARN \u001b[0m store down',
    );
    expect(formatLogLine('not json', { colors: false })).toBe('not json');
  });

  it('is what a terminal gets from the server logger (secrets still redacted); a pipe gets JSON', () => {
    vi.stubEnv('NO_COLOR', '1');
    for (const isTTY of [true, false]) {
      const written: string[] = [];
      const out = { isTTY, write: (text: string) => written.push(text) };
      const { logger } = createLogger({ level: 'info', out });
      logger.info({ password: 'hunter2', tenant: 'acme.com' }, 'user created');
      logger.flush();
      const text = written.join('');
      expect(text).not.toContain('hunter2');
      if (isTTY)
        expect(text).toMatch(
          /^\d\d:\d\d:\d\d\.\d{3} INFO {2}.*user created password=\[redacted\] tenant=acme\.com\n$/,
        );
      else expect(JSON.parse(text)).toMatchObject({ level: 30, msg: 'user created', password: '[redacted]' });
    }
  });
});
