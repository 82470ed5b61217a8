import { describe, expect, it } from 'vitest';
import { parseBasicAuth } from '../../src/identity/basic-credentials.js';

const token = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('parseBasicAuth', () => {
  it('reads one well-formed token, whatever its padding, with the scheme in any case', () => {
    expect(parseBasicAuth(`Basic ${token('user:pw')}`)).toEqual({ name: 'user', password: 'pw' });
    expect(parseBasicAuth(`Basic ${token('user:p')}`)).toEqual({ name: 'user', password: 'p' });
    expect(parseBasicAuth(`Basic ${token('user:pwd')}`)).toEqual({ name: 'user', password: 'pwd' });
    expect(parseBasicAuth(`bASIC   ${token('a:b:c')}`)).toEqual({ name: 'a', password: 'b:c' });
    expect(parseBasicAuth(`Basic ${token('zoë:café')}`)).toEqual({ name: 'zoë', password: 'café' });
  });

  it('refuses junk after the token, extra tokens, missing or extra padding and bad characters', () => {
    const good = token('user:pw');
    expect(good).toBe('dXNlcjpwdw==');
    for (const header of [
      undefined,
      '',
      'Basic',
      'Basic ',
      `Basic ${good}garbage`,
      `Basic ${good} garbage`,
      `Basic ${good} ${good}`,
      `Basic dXNl cjpwdw==`,
      'Basic dXNlcjpwdw',
      'Basic dXNlcjpwdw=',
      'Basic dXNlcjpwdw===',
      'Basic dXNlcjpwd-==',
      'Basic dXNlcjpwd_==',
      `Basic\t${good}`,
      ` Basic ${good}`,
      `Bearer ${good}`,
      `Basic ${token(':pw')}`,
      `Basic ${token('no-colon')}`,
      // Not UTF-8.
      `Basic ${Buffer.from([0x75, 0x3a, 0xff, 0xfe]).toString('base64')}`,
    ]) {
      expect(parseBasicAuth(header), String(header)).toBeUndefined();
    }
  });
});
