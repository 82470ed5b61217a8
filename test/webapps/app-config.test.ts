import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAppConfig, readAppConfig } from '../../src/webapps/app-config.js';
import { assertEntryInsideApp } from '../../src/webapps/app-entry.js';
import { appNameProblem, RESERVED_APP_NAMES } from '../../src/webapps/app-name.js';
import { contentTypeFor } from '../../src/webapps/content-types.js';
import { AppConfigError } from '../../src/webapps/errors.js';
import { DEFAULT_APP_LIMITS } from '../../src/webapps/runtime/contract.js';
import { scratchFolder } from '../helpers/databases.js';

describe('tessera-app.toml', () => {
  let scratch: { dir: string; remove: () => void };
  beforeEach(() => {
    scratch = scratchFolder('app-config');
  });
  afterEach(() => scratch.remove());

  const STATIC = { runtime: 'static', login: false, env: {}, limits: DEFAULT_APP_LIMITS };

  it('is a static app without login when the file is absent', async () => {
    await expect(readAppConfig(scratch.dir)).resolves.toEqual(STATIC);
  });

  it('reads login', async () => {
    writeFileSync(path.join(scratch.dir, 'tessera-app.toml'), 'login = true\n');
    await expect(readAppConfig(scratch.dir)).resolves.toEqual({ ...STATIC, login: true });
  });

  it('reads every key of a node app', () => {
    const config = parseAppConfig(
      [
        'runtime = "node"',
        'entry = "./dist/server.mjs"',
        'login = true',
        'health = "/healthz?deep=1"',
        '[env]',
        'GREETING = "hello"',
        'NODE_ENV = "staging"',
        '_private = ""',
        '[limits]',
        'memory_mb = 16',
        'request_timeout_s = 3600',
        'max_concurrent = 10000',
        'max_body_mb = 0',
        'start_timeout_s = 600',
      ].join('\n'),
    );
    expect(config).toEqual({
      runtime: 'node',
      entry: 'dist/server.mjs',
      login: true,
      health: '/healthz?deep=1',
      env: { GREETING: 'hello', NODE_ENV: 'staging', _private: '' },
      limits: { memoryMb: 16, requestTimeoutS: 3600, maxConcurrent: 10000, maxBodyMb: 0, startTimeoutS: 600 },
    });
  });

  it('takes an entry alone as a node app with the default limits and no health', () => {
    expect(parseAppConfig('entry = "server.js"')).toEqual({
      runtime: 'node',
      entry: 'server.js',
      login: false,
      env: {},
      limits: { memoryMb: 256, requestTimeoutS: 30, maxConcurrent: 64, maxBodyMb: 10, startTimeoutS: 60 },
    });
    expect(parseAppConfig('entry = "a.js"\n[limits]\nmemory_mb = 512').limits).toEqual({
      ...DEFAULT_APP_LIMITS,
      memoryMb: 512,
    });
  });

  it.each([
    ['login = yes', 'not valid TOML'],
    ['login = "true"', 'login must be true or false'],
    ['logn = true', 'unknown keys: logn (known: runtime, entry, login, health, env, limits)'],
    ['runtime = "deno"', 'runtime must be "static" or "node"'],
    ['runtime = "static"\nentry = "a.js"', 'runtime = "static" serves files and runs no entry; remove entry'],
    ['runtime = "node"', 'runtime = "node" needs entry'],
    ['health = "/up"', 'health applies only to runtime = "node"; remove it or set runtime = "node"'],
    ['[env]\nA = "b"\n[limits]\nmemory_mb = 64', '[env], [limits] apply only to runtime = "node"'],
    ['entry = ""', 'entry must be a path relative to the app folder'],
    ['entry = 3', 'entry must be a path relative to the app folder'],
    ['entry = "/srv/app/server.js"', 'not an absolute path: "/srv/app/server.js"'],
    ['entry = "C:/app/server.js"', 'not an absolute path'],
    ['entry = "../other/server.js"', 'without "..": "../other/server.js"'],
    ['entry = "lib/../../x.js"', 'without ".."'],
    ['entry = "lib\\\\server.js"', 'with / between folders'],
    ['entry = "."', 'naming a file'],
    ['entry = "lib/"', 'naming a file'],
    ['entry = "a.js"\nhealth = "healthz"', 'health must be a path below the app starting with "/"'],
    ['entry = "a.js"\nhealth = "//evil.example/"', 'health must be a path below the app starting with "/"'],
    ['entry = "a.js"\nhealth = "/a b"', 'without spaces or control characters'],
    ['entry = "a.js"\nhealth = true', 'health must be a path'],
    ['entry = "a.js"\nenv = "A=b"', '[env] must be a table of NAME = "value" strings'],
    ['entry = "a.js"\n[env]\nCOUNT = 3', '[env] COUNT must be a string (quote it: COUNT = "3")'],
    ['entry = "a.js"\n[env]\n"MY-VAR" = "x"', '[env] MY-VAR: a name must be letters, digits and _'],
    [
      'entry = "a.js"\n[env]\n1ST = "x"',
      '[env] 1ST: a name must be letters, digits and _, not starting with a digit',
    ],
    [
      'entry = "a.js"\n[env]\nTESSERA_DATA_DIR = "/tmp"',
      '[env] TESSERA_DATA_DIR: names starting TESSERA_ are set by Tessera',
    ],
    ['entry = "a.js"\n[env]\ntessera_app = "x"', 'names starting TESSERA_ are set by Tessera'],
    [
      'entry = "a.js"\n[env]\nNODE_OPTIONS = "--no-experimental-permission"',
      '[env] NODE_OPTIONS is not allowed',
    ],
    ['entry = "a.js"\n[env]\nA = "a\\u0000b"', '[env] A must not contain a NUL character'],
    [
      'entry = "a.js"\n[env]\nLD_PRELOAD = "/tmp/x.so"',
      '[env] LD_PRELOAD is not allowed: NODE_* (but NODE_ENV), LD_*',
    ],
    ['entry = "a.js"\n[env]\nNODE_PATH = "/usr/lib"', '[env] NODE_PATH is not allowed'],
    ['entry = "a.js"\n[env]\nDYLD_INSERT_LIBRARIES = "x"', '[env] DYLD_INSERT_LIBRARIES is not allowed'],
    ['entry = "a.js"\n[env]\nOPENSSL_CONF = "/tmp/x.cnf"', '[env] OPENSSL_CONF is not allowed'],
    ['entry = "a.js"\nlimits = 5', '[limits] must be a table with any of memory_mb, request_timeout_s'],
    [
      'entry = "a.js"\n[limits]\nmemory = 64',
      '[limits] has an unknown key: memory (known: memory_mb, request_timeout_s, max_concurrent, max_body_mb, start_timeout_s)',
    ],
    [
      'entry = "a.js"\n[limits]\nmemory_mb = 15',
      '[limits] memory_mb must be a whole number from 16 to 8192 (MB)',
    ],
    [
      'entry = "a.js"\n[limits]\nmemory_mb = 8193',
      '[limits] memory_mb must be a whole number from 16 to 8192',
    ],
    ['entry = "a.js"\n[limits]\nmemory_mb = "256"', '[limits] memory_mb must be a whole number'],
    [
      'entry = "a.js"\n[limits]\nrequest_timeout_s = 0',
      '[limits] request_timeout_s must be a whole number from 1 to 3600 (seconds)',
    ],
    [
      'entry = "a.js"\n[limits]\nrequest_timeout_s = 2.5',
      '[limits] request_timeout_s must be a whole number',
    ],
    [
      'entry = "a.js"\n[limits]\nstart_timeout_s = 0',
      '[limits] start_timeout_s must be a whole number from 1 to 600 (seconds)',
    ],
    [
      'entry = "a.js"\n[limits]\nstart_timeout_s = 601',
      '[limits] start_timeout_s must be a whole number from 1 to 600 (seconds)',
    ],
    [
      'entry = "a.js"\n[limits]\nmax_concurrent = 10001',
      '[limits] max_concurrent must be a whole number from 1 to 10000 (requests)',
    ],
    [
      'entry = "a.js"\n[limits]\nmax_body_mb = -1',
      '[limits] max_body_mb must be a whole number from 0 to 1024 (MB)',
    ],
  ])('refuses %j', (text, message) => {
    expect(() => parseAppConfig(text)).toThrow(AppConfigError);
    expect(() => parseAppConfig(text)).toThrow(message);
  });

  it('refuses a folder in place of the file', async () => {
    mkdirSync(path.join(scratch.dir, 'tessera-app.toml'));
    await expect(readAppConfig(scratch.dir)).rejects.toBeInstanceOf(AppConfigError);
  });
});

describe("a node app's entry on disk", () => {
  let scratch: { dir: string; remove: () => void };
  let root: string;
  beforeEach(() => {
    scratch = scratchFolder('app-entry');
    root = path.join(scratch.dir, 'app');
    mkdirSync(path.join(root, 'lib'), { recursive: true });
    writeFileSync(path.join(root, 'lib', 'server.js'), 'export default {}');
    writeFileSync(path.join(scratch.dir, 'outside.js'), 'export default {}');
  });
  afterEach(() => scratch.remove());

  const entry = (name: string) => parseAppConfig(`entry = "${name}"`);

  it('accepts a file inside the app, also through a symlink that stays inside', async () => {
    await expect(assertEntryInsideApp(root, entry('lib/server.js'))).resolves.toBeUndefined();
    symlinkSync(path.join(root, 'lib', 'server.js'), path.join(root, 'main.js'));
    await expect(assertEntryInsideApp(root, entry('main.js'))).resolves.toBeUndefined();
    await expect(assertEntryInsideApp(root, parseAppConfig(''))).resolves.toBeUndefined();
  });

  it.each([
    ['missing.js', 'entry "missing.js" does not exist in the app'],
    ['lib', 'entry "lib" is not a regular file'],
    ['escape.js', 'entry "escape.js" leads outside the app folder'],
    ['dangling.js', 'entry "dangling.js" does not exist in the app'],
  ])('refuses %s', async (name, message) => {
    symlinkSync(path.join(scratch.dir, 'outside.js'), path.join(root, 'escape.js'));
    symlinkSync(path.join(root, 'gone.js'), path.join(root, 'dangling.js'));
    const refusal = assertEntryInsideApp(root, entry(name));
    await expect(refusal).rejects.toBeInstanceOf(AppConfigError);
    await expect(refusal).rejects.toThrow(message);
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
