import { describe, expect, it } from 'vitest';
import { CONFIG_FORMATS } from '../../src/config/config-format.js';
import { CONFIG_FORMAT } from '../../src/config/keys.js';
import { PACKAGE_VERSION } from '../../src/package-root.js';
import { expectedSchema } from '../../src/releases/expected-schema.js';
import {
  CURRENT_RELEASE,
  CURRENT_SCHEMA_LEVEL,
  getRelease,
  RELEASES,
  releaseSchemaLevel,
  releasesUpTo,
  shipsScripts,
  upgradePath,
} from '../../src/releases/matrix.js';
import { releaseScripts } from '../../src/releases/scripts.js';
import { splitStatements } from '../../src/releases/sql-splitter.js';

describe('release matrix', () => {
  it('knows 1.0.0, 1.1.0, 2.0.0, 2.0.1 and 2.1.0, the last being current at schema level 2.1.0', () => {
    expect(RELEASES.map((r) => r.version)).toEqual(['1.0.0', '1.1.0', '2.0.0', '2.0.1', '2.1.0']);
    expect(CURRENT_RELEASE).toBe('2.1.0');
    expect(CURRENT_SCHEMA_LEVEL).toBe('2.1.0');
    // The config format the current release reads and writes is the one its loader checks.
    expect(getRelease(CURRENT_RELEASE).configFormat).toBe(CONFIG_FORMAT);
    expect(getRelease('2.1.0').configFormat).toBe('2.1');
    // Every release's format is one the upgrade can read, and the newest of them is the current one.
    for (const release of RELEASES) expect(CONFIG_FORMATS).toContain(release.configFormat);
    expect(CONFIG_FORMATS.at(-1)).toBe(CONFIG_FORMAT);
    // The package is the current release: `tessera version`, npm pack and the nodes' rows say the same.
    expect(PACKAGE_VERSION).toBe(CURRENT_RELEASE);
  });

  it('takes 2.0.1 as a release of code only: no scripts, the schema and expected schema of 2.0.0', () => {
    expect(shipsScripts('2.0.1')).toBe(false);
    expect(releaseSchemaLevel('2.0.1')).toBe('2.0.0');
    expect(upgradePath('2.0.0', '2.0.1')).toEqual(['2.0.1']);
    expect(upgradePath('1.1.0', '2.0.1')).toEqual(['2.0.0', '2.0.1']);
    expect(releasesUpTo('2.0.1')).toEqual(['1.0.0', '1.1.0', '2.0.0']);
    for (const kind of ['sqlite', 'postgres', 'mysql'] as const) {
      expect(releaseScripts('2.0.1', kind)).toEqual([]);
      expect(expectedSchema('2.0.1', kind)).toEqual(expectedSchema('2.0.0', kind));
    }
  });

  it('upgrades 2.0.0 and 2.0.1 to 2.1.0 in one hop, and 1.x through 2.0.0', () => {
    expect(upgradePath('2.0.1', '2.1.0')).toEqual(['2.1.0']);
    expect(upgradePath('2.0.0', '2.1.0')).toEqual(['2.1.0']);
    expect(upgradePath('1.1.0', '2.1.0')).toEqual(['2.0.0', '2.1.0']);
    expect(upgradePath('1.0.0', '2.1.0')).toEqual(['1.1.0', '2.0.0', '2.1.0']);
    expect(shipsScripts('2.1.0')).toBe(true);
    expect(releasesUpTo('2.1.0')).toEqual(['1.0.0', '1.1.0', '2.0.0', '2.1.0']);
    expect(releasesUpTo('2.0.1')).toEqual(['1.0.0', '1.1.0', '2.0.0']);
  });

  it('routes 1.0.0 to 2.0.0 through the required stop 1.1.0', () => {
    expect(upgradePath('1.0.0', '2.0.0')).toEqual(['1.1.0', '2.0.0']);
    expect(upgradePath('1.1.0', '2.0.0')).toEqual(['2.0.0']);
    expect(upgradePath('1.0.0', '1.1.0')).toEqual(['1.1.0']);
    expect(upgradePath('2.0.0', '2.0.0')).toEqual([]);
  });

  it('refuses downgrades and unknown releases', () => {
    expect(() => upgradePath('2.0.0', '1.0.0')).toThrow(/never downgrades/);
    expect(() => upgradePath('0.9.0', '2.0.0')).toThrow(expect.objectContaining({ code: 'RELEASE_UNKNOWN' }));
  });

  it('builds fresh databases from every release up to the target', () => {
    expect(releasesUpTo('1.1.0')).toEqual(['1.0.0', '1.1.0']);
  });

  it('ships a checksummed migration.sql for every release with a schema of its own, on every engine', () => {
    expect(RELEASES.filter((r) => shipsScripts(r.version)).map((r) => r.version)).toEqual([
      '1.0.0',
      '1.1.0',
      '2.0.0',
      '2.1.0',
    ]);
    for (const release of RELEASES.filter((r) => shipsScripts(r.version))) {
      for (const kind of ['sqlite', 'postgres', 'mysql'] as const) {
        const [script] = releaseScripts(release.version, kind);
        expect(script?.name).toBe('migration.sql');
        expect(script?.checksum).toMatch(/^[0-9a-f]{64}$/);
        expect(script?.statements.length).toBeGreaterThan(0);
      }
    }
  });
});

describe('SQL statement splitter', () => {
  it('splits on top-level semicolons only, dropping comments', () => {
    const script = `-- a comment; with a semicolon
CREATE TABLE a (x VARCHAR(10) DEFAULT 'semi;colon');
/* block; comment */ INSERT INTO a VALUES ('it''s; fine');
UPDATE "we;ird" SET x = \`b;t\`;`;
    expect(splitStatements(script)).toEqual([
      "CREATE TABLE a (x VARCHAR(10) DEFAULT 'semi;colon')",
      "INSERT INTO a VALUES ('it''s; fine')",
      'UPDATE "we;ird" SET x = `b;t`',
    ]);
  });

  it('refuses an unterminated quote rather than guessing', () => {
    expect(() => splitStatements("INSERT INTO a VALUES ('oops);")).toThrow(/unterminated/);
  });
});
