import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../../src/errors.js';
import {
  parseStoreFile,
  renderStoreFile,
  validateStoreDefinition,
} from '../../../src/userstores/definitions/store-file.js';

const DIRECTORY = [
  'domain = "DIRECTORY"',
  'type = "ldap"',
  'url = "ldap://ldap.acme.test:389"',
  'read_only = true',
  'bind_dn = "cn=tessera,dc=acme,dc=test"',
  'bind_password = "s3cret-bind"',
  'user_search_base = "ou=people,dc=acme,dc=test"',
  'group_search_base = "ou=groups,dc=acme,dc=test"',
  '',
  '[attributes]',
  'email = "mail"',
  'givenName = "givenName"',
  '',
].join('\n');

function problem(text: string): string {
  const result = parseStoreFile(text, '/home/userstores/DIRECTORY.toml');
  return result.ok ? '' : result.error;
}

describe('LDAP store files', () => {
  it('reads the LDAP keys, filling in the defaults', () => {
    const result = parseStoreFile(DIRECTORY, '/home/userstores/DIRECTORY.toml');
    expect(result.ok && result.definition).toEqual({
      domain: 'DIRECTORY',
      type: 'ldap',
      url: 'ldap://ldap.acme.test:389',
      readOnly: true,
      ldap: {
        bindDn: 'cn=tessera,dc=acme,dc=test',
        bindPassword: 's3cret-bind',
        userSearchBase: 'ou=people,dc=acme,dc=test',
        groupSearchBase: 'ou=groups,dc=acme,dc=test',
        userObjectClass: 'inetOrgPerson',
        groupObjectClass: 'groupOfNames',
        userNameAttribute: 'uid',
        groupNameAttribute: 'cn',
        memberAttribute: 'member',
        attributes: { email: 'mail', givenName: 'givenName' },
        timeoutMs: 5000,
      },
    });
  });

  it('writes what it reads', () => {
    const first = parseStoreFile(DIRECTORY, '/home/userstores/DIRECTORY.toml');
    if (!first.ok) throw new Error(first.error);
    const again = parseStoreFile(renderStoreFile(first.definition), '/home/userstores/DIRECTORY.toml');
    expect(again).toEqual(first);
  });

  it('names a missing required key, and the line of a wrong value, never quoting the bind password', () => {
    expect(problem(DIRECTORY.replace(/^bind_dn = .*\n/m, ''))).toBe(
      'DIRECTORY.toml: the key "bind_dn" is missing (an LDAP store needs it).',
    );
    expect(problem(DIRECTORY.replace(/^group_search_base = .*\n/m, ''))).toContain(
      '"group_search_base" is missing',
    );
    expect(
      problem(DIRECTORY.replace('read_only = true', 'read_only = true\nuser_name_attribute = "u id"')),
    ).toBe(
      'DIRECTORY.toml line 5: "user_name_attribute" = "u id" is not an LDAP attribute or object class name.',
    );
    expect(problem(DIRECTORY.replace('email = "mail"', 'email = "(mail)"'))).toContain(
      '[attributes] "email" must name an LDAP attribute',
    );
    expect(problem(DIRECTORY.replace('bind_password = "s3cret-bind"', 'bind_password = 42'))).toBe(
      'DIRECTORY.toml line 6: "bind_password" must be a non-empty string on one line.',
    );
    expect(problem(DIRECTORY.replace('read_only = true', 'read_only = true\ntimeout_ms = 0'))).toContain(
      '"timeout_ms" must be a whole number of milliseconds',
    );
  });

  it('keeps the LDAP keys out of JDBC files', () => {
    const jdbc = 'domain = "DIRECTORY"\ntype = "jdbc"\nurl = "sqlite:stores.db"\nbind_dn = "cn=x"\n';
    expect(problem(jdbc)).toBe(
      'DIRECTORY.toml line 4: unknown key "bind_dn" (known keys: domain, type, url, read_only, description).',
    );
  });

  it('validates the settings the API gives, refusing an incomplete one with BAD_REQUEST', () => {
    const base = {
      domain: 'DIRECTORY',
      type: 'ldap' as const,
      url: 'ldap://ldap.acme.test',
      readOnly: false,
    };
    const valid = validateStoreDefinition({
      ...base,
      ldap: {
        bindDn: 'cn=tessera,dc=acme,dc=test',
        bindPassword: 'pw',
        userSearchBase: 'ou=people,dc=acme,dc=test',
        groupSearchBase: 'ou=groups,dc=acme,dc=test',
        userNameAttribute: 'sAMAccountName',
      },
    });
    expect(valid.ldap).toMatchObject({ userNameAttribute: 'sAMAccountName', memberAttribute: 'member' });
    let refused: unknown;
    try {
      validateStoreDefinition({ ...base, ldap: { bindDn: 'cn=x', bindPassword: 'pw' } });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(TesseraError);
    expect((refused as TesseraError).code).toBe('BAD_REQUEST');
    expect((refused as TesseraError).message).toContain('"user_search_base" is missing');
  });
});
