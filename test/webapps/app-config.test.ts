import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAppConfig, readAppConfig } from '../../src/webapps/app-config.js';
import { appNameProblem, RESERVED_APP_NAMES } from '../../src/webapps/app-name.js';
import { contentTypeFor } from '../../src/webapps/content-types.js';
import { AppConfigError } from '../../src/webapps/errors.js';
import { scratchFolder } from '../helpers/databases.js';

describe('tessera-app.toml', () => {
  let scratch: { dir: string; remove: () => void };
  beforeEach(() => {
    scratch = scratchFolder('app-config');
  });
  afterEach(() => scratch.remove());

  it('defaults to no login when the file is absent', async () => {
    await expect(readAppConfig(scratch.dir)).resolves.toEqual({ login: false });
  });

  it('reads login', async () => {
    writeFileSync(path.join(scratch.dir, 'tessera-app.toml'), 'login = true\n');
    await expect(readAppConfig(scratch.dir)).resolves.toEqual({ login: true });
  });

  it.each([
    ['login = yes', 'not valid TOML'],
    ['login = "true"', 'login must be true or false'],
    ['logn = true', 'unknown keys: logn'],
  ])('refuses %j', (text, message) => {
    expect(() => parseAppConfig(text)).toThrow(AppConfigError);
    expect(() => parseAppConfig(text)).toThrow(message);
  });

  it('refuses a folder in place of the file', async () => {
    mkdirSync(path.join(scratch.dir, 'tessera-app.toml'));
    await expect(readAppConfig(scratch.dir)).rejects.toBeInstanceOf(AppConfigError);
  });
});

describe('app names', () => {
  it('accepts ordinary names', () => {
    for (const name of ['hello', 'my-app', 'App_2', 'v1.2.3']) expect(appNameProblem(name)).toBeUndefined();
  });

  it('refuses malformed and reserved names', () => {
    for (const name of ['.hidden', '-x', 'a b', 'a/b', '', 'x'.repeat(101)])
      expect(appNameProblem(name)).toBeDefined();
    for (const name of RESERVED_APP_NAMES) expect(appNameProblem(name)).toContain('reserved');
    expect(appNameProblem('API')).toContain('reserved');
  });
});

describe('content types', () => {
  it('maps common extensions, case-insensitively, and falls back to bytes', () => {
    expect(contentTypeFor('index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeFor('LOGO.PNG')).toBe('image/png');
    expect(contentTypeFor('app.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeFor('data.bin')).toBe('application/octet-stream');
    expect(contentTypeFor('Makefile')).toBe('application/octet-stream');
  });
});
