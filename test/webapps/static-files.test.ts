import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requestedPath, resolveStaticFile } from '../../src/webapps/static-files.js';
import { scratchFolder } from '../helpers/databases.js';

describe('requestedPath', () => {
  it('splits and decodes the part below the app', () => {
    expect(requestedPath('/hello/a%20b/c.txt?x=1', 1)).toEqual({
      segments: ['a b', 'c.txt'],
      belowApp: true,
      endsWithSlash: false,
      query: '?x=1',
      rawBelow: '/a%20b/c.txt',
    });
    expect(requestedPath('/t/acme.com/app/', 3)).toMatchObject({
      segments: [],
      belowApp: true,
      endsWithSlash: true,
    });
    expect(requestedPath('/t/acme.com/app', 3)).toMatchObject({ segments: [], belowApp: false });
    expect(requestedPath('/hello//x', 1)).toMatchObject({ segments: ['x'] });
  });

  it.each([
    '/hello/../../etc/passwd',
    '/hello/%2e%2e/%2e%2e/etc/passwd',
    '/hello/%2E%2E/x',
    '/hello/./x',
    '/hello/..%2f..%2fetc/passwd',
    '/hello/..%5c..%5cetc',
    '/hello/a%00b',
    '/hello/%E0%A4%A',
  ])('refuses %s', (url) => {
    expect(requestedPath(url, 1)).toBeUndefined();
  });
});

describe('resolveStaticFile', () => {
  let scratch: { dir: string; remove: () => void };
  let root: string;
  beforeEach(() => {
    scratch = scratchFolder('static');
    root = path.join(realpathSync(scratch.dir), 'app');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), 'hi');
    writeFileSync(path.join(root, 'tessera-app.toml'), 'login = true');
    writeFileSync(path.join(scratch.dir, 'secret.txt'), 'secret');
    symlinkSync(path.join(scratch.dir, 'secret.txt'), path.join(root, 'leak.txt'));
    symlinkSync(path.join(root, 'index.html'), path.join(root, 'alias.html'));
    symlinkSync(path.join(root, 'tessera-app.toml'), path.join(root, 'config.txt'));
  });
  afterEach(() => scratch.remove());

  it('finds files and folders inside the app', async () => {
    expect(await resolveStaticFile(root, ['index.html'])).toMatchObject({ kind: 'file', size: 2 });
    expect(await resolveStaticFile(root, ['sub'])).toEqual({ kind: 'directory' });
    expect(await resolveStaticFile(root, [])).toEqual({ kind: 'directory' });
    expect(await resolveStaticFile(root, ['alias.html'])).toMatchObject({ kind: 'file' });
  });

  it('treats links leading out, the app settings and missing files as missing', async () => {
    expect(await resolveStaticFile(root, ['leak.txt'])).toEqual({ kind: 'missing' });
    expect(await resolveStaticFile(root, ['tessera-app.toml'])).toEqual({ kind: 'missing' });
    expect(await resolveStaticFile(root, ['config.txt'])).toEqual({ kind: 'missing' });
    expect(await resolveStaticFile(root, ['nope.html'])).toEqual({ kind: 'missing' });
    expect(await resolveStaticFile(root, ['..', 'secret.txt'])).toEqual({ kind: 'missing' });
  });
});
