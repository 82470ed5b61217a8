import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArchiveRefusedError } from '../../src/webapps/errors.js';
import { entryPathSegments, extractZip } from '../../src/webapps/safe-zip.js';
import { scratchFolder } from '../helpers/databases.js';
import { buildZip, rawZip } from './helpers.js';

describe('extractZip', () => {
  let scratch: { dir: string; remove: () => void };
  let destination: string;

  beforeEach(() => {
    scratch = scratchFolder('safe-zip');
    destination = path.join(scratch.dir, 'out', 'app');
    mkdirSync(destination, { recursive: true });
  });
  afterEach(() => scratch.remove());

  function zipFile(bytes: Buffer, name = 'app.zip'): string {
    const file = path.join(scratch.dir, name);
    writeFileSync(file, bytes);
    return file;
  }

  async function refusal(bytes: Buffer): Promise<ArchiveRefusedError> {
    const error = await extractZip(zipFile(bytes), destination).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ArchiveRefusedError);
    return error as ArchiveRefusedError;
  }

  it('extracts files and folders with fixed, harmless modes', async () => {
    const zip = await buildZip({
      'index.html': '<h1>hi</h1>',
      'css/site.css': 'body{}',
      'a/b/c.txt': 'deep',
    });
    const summary = await extractZip(zipFile(zip), destination);
    expect(summary).toMatchObject({ files: 3, bytes: 11 + 6 + 4 });
    expect(readFileSync(path.join(destination, 'a/b/c.txt'), 'utf8')).toBe('deep');
    expect(statSync(path.join(destination, 'index.html')).mode & 0o7777).toBe(0o600); // a home is its owner's alone (src/home/private-modes.ts)
  });

  it('reads the raw zips the other tests build', async () => {
    await extractZip(
      zipFile(
        rawZip([
          { name: 'dir/', mode: 0o40755 },
          { name: 'dir/x.txt', content: 'x' },
        ]),
      ),
      destination,
    );
    expect(readFileSync(path.join(destination, 'dir/x.txt'), 'utf8')).toBe('x');
  });

  it.each([
    ['../evil', 'escapes the app folder'],
    ['ok/../../evil', 'escapes the app folder'],
    ['/etc/x', 'absolute path'],
    ['C:/windows/x', 'drive letter'],
    ['..\\evil', 'backslash'],
    ['a\\..\\..\\evil', 'backslash'],
  ])('refuses the whole archive for the entry %s, writing nothing', async (name, why) => {
    const error = await refusal(
      rawZip([
        { name: 'index.html', content: 'fine' },
        { name, content: 'pwned' },
      ]),
    );
    expect(error.code).toBe('UNSAFE_ARCHIVE');
    expect(error.refusal).toBe('unsafe-entry');
    expect(error.entry).toBe(name);
    expect(error.message).toContain(name);
    expect(error.message).toContain(why);
    expect(readdirSync(destination)).toEqual([]);
    expect(existsSync(path.join(scratch.dir, 'out', 'evil'))).toBe(false);
    expect(existsSync(path.join(scratch.dir, 'evil'))).toBe(false);
  });

  it('refuses symbolic link entries', async () => {
    const error = await refusal(
      rawZip([
        { name: 'index.html', content: 'fine' },
        { name: 'passwd', content: '/etc/passwd', mode: 0o120777 },
      ]),
    );
    expect(error).toMatchObject({ refusal: 'unsafe-entry', entry: 'passwd' });
    expect(error.message).toContain('symbolic link');
    expect(readdirSync(destination)).toEqual([]);
  });

  it('refuses device and fifo entries', async () => {
    const error = await refusal(rawZip([{ name: 'fifo', mode: 0o010644 }]));
    expect(error).toMatchObject({ refusal: 'unsafe-entry', entry: 'fifo' });
  });

  it('refuses duplicate entries and a file where a folder is needed', async () => {
    expect(
      await refusal(
        rawZip([
          { name: 'a', content: '1' },
          { name: 'a', content: '2' },
        ]),
      ),
    ).toMatchObject({ refusal: 'malformed', entry: 'a' });
    expect(
      await refusal(
        rawZip([
          { name: 'a', content: '1' },
          { name: 'a/b', content: '2' },
        ]),
      ),
    ).toMatchObject({ refusal: 'malformed', entry: 'a/b' });
  });

  it('refuses what is not a zip, and a truncated zip', async () => {
    expect(await refusal(Buffer.from('this is not a zip file at all, just text'))).toMatchObject({
      refusal: 'malformed',
    });
    const zip = await buildZip({ 'index.html': 'x'.repeat(10_000) });
    expect(await refusal(zip.subarray(0, Math.floor(zip.length / 2)))).toMatchObject({
      refusal: 'malformed',
    });
    expect(readdirSync(destination)).toEqual([]);
  });

  it('refuses archives beyond the entry and size limits', async () => {
    const many = rawZip(Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.txt`, content: 'x' })));
    await expect(
      extractZip(zipFile(many), destination, { maxEntries: 10, maxBytes: 1_000 }),
    ).rejects.toMatchObject({
      refusal: 'too-large',
    });
    // A zip bomb in miniature: 1 MiB of zeros deflates to about a kilobyte.
    const bomb = await buildZip({ 'zeros.bin': Buffer.alloc(1024 * 1024) });
    expect(bomb.length).toBeLessThan(10_000);
    await expect(
      extractZip(zipFile(bomb), destination, { maxEntries: 10, maxBytes: 512 * 1024 }),
    ).rejects.toMatchObject({ refusal: 'too-large', entry: 'zeros.bin' });
    expect(readdirSync(destination)).toEqual([]);
  });
});

describe('entryPathSegments', () => {
  it('normalises harmless oddities', () => {
    expect(entryPathSegments('./a//b/./c.txt')).toEqual(['a', 'b', 'c.txt']);
    expect(entryPathSegments('dir/')).toEqual(['dir']);
    expect(entryPathSegments('./')).toEqual([]);
    expect(entryPathSegments('a..b/..c')).toEqual(['a..b', '..c']);
  });

  it.each(['..', '../x', 'a/../../x', '/x', 'c:x', 'a\\b', 'a\0b'])('refuses %j', (name) => {
    expect(() => entryPathSegments(name)).toThrow(ArchiveRefusedError);
  });
});
