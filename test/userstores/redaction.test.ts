import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACTED_PATHS } from '../../src/telemetry/logger.js';
import { bindAsService, directoryUnavailable } from '../../src/userstores/ldap/client.js';

describe('secrets of LDAP stores stay out of messages and logs', () => {
  it('a directory that is not available is named without the password its URL carries', () => {
    const error = directoryUnavailable('ldap://cn=svc:s3cret-pw@ldap.example:389', new Error('ECONNREFUSED'));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).not.toContain('s3cret-pw');
    expect(error.message).toContain('ldap.example:389');
  });

  it('a failed bind to an unreachable directory does not repeat the URL password', async () => {
    const failure = await bindAsService({
      // Port 1 on loopback: nothing listens, the connection is refused at once.
      url: 'ldap://cn=svc:s3cret-pw@127.0.0.1:1',
      settings: { bindDn: 'cn=svc', bindPassword: 'other-secret', timeoutMs: 2_000 },
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).not.toContain('s3cret-pw');
    expect((failure as Error).message).not.toContain('other-secret');
  });

  it('the logger masks bind passwords in either spelling, at the top or one level down', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, stream);
    logger.info(
      {
        bindPassword: 'pw-1',
        bind_password: 'pw-2',
        ldap: { bindPassword: 'pw-3' },
        file: { bind_password: 'pw-4' },
      },
      'store',
    );
    const text = lines.join('');
    for (const secret of ['pw-1', 'pw-2', 'pw-3', 'pw-4']) expect(text).not.toContain(secret);
    expect(text.match(/\[redacted\]/g)).toHaveLength(4);
  });
});
