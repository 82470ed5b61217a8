import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_DATABASE_URL, defaultConfigText } from '../../src/config/schema.js';

describe('the default config naming a database (tessera init --db)', () => {
  it('names the embedded SQLite database unless told otherwise', () => {
    expect(parseConfig(defaultConfigText(), 'tessera.toml').database.url).toBe(DEFAULT_DATABASE_URL);
  });

  it('writes any URL so that it reads back as typed: quotes, backslashes and control characters escaped', () => {
    for (const url of [
      'postgres://postgres@127.0.0.1:5432/tessera',
      'mysql://app:p%22w"d\\x@db.example:3306/tessera',
      'sqlite:data/odd\tname\u007f.db',
    ]) {
      expect(parseConfig(defaultConfigText(url), 'tessera.toml').database.url).toBe(url);
    }
  });
});
