import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactDatabaseUrl } from '../../src/db/url.js';

describe('database URLs', () => {
  it('resolves SQLite paths against the home', () => {
    expect(parseDatabaseUrl('sqlite:repository/database/tessera.db', '/srv/home')).toEqual({
      kind: 'sqlite',
      file: path.resolve('/srv/home/repository/database/tessera.db'),
    });
    expect(parseDatabaseUrl('sqlite:/abs/x.db', '/srv/home')).toEqual({ kind: 'sqlite', file: '/abs/x.db' });
  });

  it('parses server URLs with defaults for port and user', () => {
    expect(parseDatabaseUrl('postgres://postgres@127.0.0.1:5432/tessera', '/h')).toEqual({
      kind: 'postgres',
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      password: undefined,
      database: 'tessera',
    });
    expect(parseDatabaseUrl('mysql://root:s%40cret@db.local/app', '/h')).toEqual({
      kind: 'mysql',
      host: 'db.local',
      port: 3306,
      user: 'root',
      password: 's@cret',
      database: 'app',
    });
    expect(parseDatabaseUrl('mariadb://u@h:3307/d', '/h')).toMatchObject({ kind: 'mysql', port: 3307 });
  });

  it('refuses URLs it cannot use, without echoing the password', () => {
    expect(() => parseDatabaseUrl('oracle://u@h/d', '/h')).toThrow(
      expect.objectContaining({ code: 'DB_URL_INVALID' }),
    );
    expect(() => parseDatabaseUrl('postgres://u:topsecret@h:5432/', '/h')).toThrow(/names no database/);
    try {
      parseDatabaseUrl('postgres://u:topsecret@h:5432/', '/h');
    } catch (error) {
      expect((error as Error).message).not.toContain('topsecret');
    }
    expect(redactDatabaseUrl('postgres://u:topsecret@h:5432/d')).toBe('postgres://u:***@h:5432/d');
  });

  it('masks a password query parameter and every URL inside a longer text', () => {
    expect(redactDatabaseUrl('postgres://u@h/d?sslmode=require&password=topsecret')).toBe(
      'postgres://u@h/d?sslmode=require&password=***',
    );
    expect(redactDatabaseUrl('mysql://u@h/d?PASSWORD=topsecret#x')).toBe('mysql://u@h/d?PASSWORD=***#x');
    expect(
      redactDatabaseUrl('from postgres://a:one@h/p to mysql://b:two@h/s failed: connection refused'),
    ).toBe('from postgres://a:***@h/p to mysql://b:***@h/s failed: connection refused');
    expect(redactDatabaseUrl('sqlite:repository/database/tessera.db')).toBe(
      'sqlite:repository/database/tessera.db',
    );
  });
});
