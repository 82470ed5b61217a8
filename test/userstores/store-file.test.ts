import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  domainOfStoreFile,
  parseStoreFile,
  renderStoreFile,
  type StoreDefinition,
  validateStoreDefinition,
  writeStoreFile,
} from '../../src/userstores/definitions/store-file.js';
import { scratchFolder } from '../helpers/databases.js';
import { errorCodeOf } from './helpers.js';

const PARTNERS = `domain = "PARTNERS"
type = "jdbc"
url = "sqlite:repository/database/userstores.db"   # relative to the home
read_only = false
description = "Partner accounts"
`;

function problem(text: string, file = '/home/userstores/PARTNERS.toml'): string {
  const result = parseStoreFile(text, file);
  if (result.ok) throw new Error('expected the file to be refused');
  return result.error;
}

describe('store definition files', () => {
  let folder: { dir: string; remove: () => void } | undefined;
  afterEach(() => folder?.remove());

  it('reads the documented format', () => {
    expect(parseStoreFile(PARTNERS, '/x/PARTNERS.toml')).toEqual({
      ok: true,
      definition: {
        domain: 'PARTNERS',
        type: 'jdbc',
        url: 'sqlite:repository/database/userstores.db',
        readOnly: false,
        description: 'Partner accounts',
      },
    });
    const minimal = parseStoreFile(
      'domain = "P2"\ntype = "jdbc"\nurl = "postgres://u@db:5432/stores"\n',
      '/x/P2.toml',
    );
    expect(minimal).toEqual({
      ok: true,
      definition: { domain: 'P2', type: 'jdbc', url: 'postgres://u@db:5432/stores', readOnly: false },
    });
  });

  it('reports a syntax error with its line and column, without quoting the file', () => {
    const text =
      'domain = "PARTNERS"\ntype = "jdbc"\nurl = "postgres://u:topsecret@db/x\nread_only = false\n';
    const error = problem(text);
    expect(error).toMatch(/^PARTNERS\.toml line 3, column \d+: /);
    expect(error).not.toContain('topsecret');
    expect(error).not.toContain('\n');
  });

  it('names the key and the file for missing, unknown and invalid keys', () => {
    expect(problem('domain = "PARTNERS"\nurl = "sqlite:x.db"\n')).toBe(
      'PARTNERS.toml: the key "type" is missing.',
    );
    expect(problem(`${PARTNERS}readonly = true\n`)).toContain('PARTNERS.toml line 6: unknown key "readonly"');
    expect(problem(PARTNERS.replace('read_only = false', 'read_only = "no"'))).toBe(
      'PARTNERS.toml line 4: "read_only" must be true or false.',
    );
    expect(problem(PARTNERS.replace('"jdbc"', '"ad"'))).toContain('line 2: "type" must be "jdbc" or "ldap"');
    expect(
      problem(PARTNERS.replace('sqlite:repository/database/userstores.db', 'oracle://u:pw@h/db')),
    ).toMatch(/line 3: "url": Database URL "oracle:\/\/u:\*\*\*@h\/db" is not valid/);
  });

  it('requires a store domain that is not PRIMARY and matches the file name', () => {
    expect(problem(PARTNERS.replace('"PARTNERS"', '"partners"'))).toContain(
      'line 1: "domain" = "partners" is not a store domain',
    );
    expect(problem(PARTNERS.replace('"PARTNERS"', '"PRIMARY"'), '/x/PRIMARY.toml')).toContain(
      'cannot be PRIMARY',
    );
    expect(problem(PARTNERS, '/x/VENDORS.toml')).toBe(
      'VENDORS.toml: the file name must be the store\'s domain: "domain" = "PARTNERS" belongs in PARTNERS.toml.',
    );
  });

  it('keeps what it could read of a broken file, to describe it', () => {
    const result = parseStoreFile(PARTNERS.replace('read_only = false', 'read_only = 3'), '/x/PARTNERS.toml');
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.partial).toMatchObject({ domain: 'PARTNERS', type: 'jdbc', readOnly: false });
  });

  it('tells store files from other files in the folder', () => {
    expect(domainOfStoreFile('PARTNERS.toml')).toBe('PARTNERS');
    expect(domainOfStoreFile('.PARTNERS.toml.a1b2.tmp')).toBeUndefined();
    expect(domainOfStoreFile('.hidden.toml')).toBeUndefined();
    expect(domainOfStoreFile('README.md')).toBeUndefined();
    expect(domainOfStoreFile('.toml')).toBeUndefined();
  });

  it('validates API input with BAD_REQUEST', async () => {
    const good: StoreDefinition = { domain: 'PARTNERS', type: 'jdbc', url: 'sqlite:x.db', readOnly: true };
    expect(validateStoreDefinition(good)).toEqual(good);
    expect(
      await errorCodeOf(
        Promise.resolve().then(() => validateStoreDefinition({ ...good, domain: 'PRIMARY' })),
      ),
    ).toBe('BAD_REQUEST');
    expect(
      await errorCodeOf(Promise.resolve().then(() => validateStoreDefinition({ ...good, url: 'ftp://x/y' }))),
    ).toBe('BAD_REQUEST');
  });

  it('writes a file atomically that reads back the same, quotes included', async () => {
    folder = scratchFolder('storefile');
    const definition: StoreDefinition = {
      domain: 'PARTNERS',
      type: 'jdbc',
      url: 'mysql://u:p%40ss@db:3306/stores',
      readOnly: true,
      description: 'Partners "external" \\ Zoë',
    };
    const file = await writeStoreFile(folder.dir, definition);
    expect(file).toBe(path.join(folder.dir, 'PARTNERS.toml'));
    expect(readdirSync(folder.dir)).toEqual(['PARTNERS.toml']);
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(renderStoreFile(definition));
    expect(parseStoreFile(text, file)).toEqual({ ok: true, definition });
  });
});
