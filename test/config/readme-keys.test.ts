import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectedReadmeRows, markdownTable, README_COLUMNS, readmeRows } from './readme-table.js';

describe("README.md's table of config keys", () => {
  it('says what the key table (src/config/keys.ts) says: keys, defaults, values, releases and meanings', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const { header, rows } = readmeRows(readme);
    const expected = expectedReadmeRows();
    const fix = `README.md's "Configuration" table differs from src/config/keys.ts; the table to put there:\n\n${markdownTable(expected)}\n`;
    expect(header, fix).toEqual(README_COLUMNS);
    expect(rows, fix).toEqual(expected);
  });
});
