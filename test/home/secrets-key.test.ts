import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { homeLayout } from '../../src/home/layout.js';
import { loadSecretsKey, secretsKeyPath } from '../../src/home/secrets-key.js';
import { scratchFolder } from '../helpers/databases.js';

const folders: { remove: () => void }[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) folder.remove();
});

function freshHome() {
  const folder = scratchFolder('secrets-key');
  folders.push(folder);
  return homeLayout(path.join(folder.dir, 'home'));
}

describe("the home's secrets key", () => {
  it('is made once, 32 random bytes in a 0600 file, and read back the same', () => {
    const layout = freshHome();
    const key = loadSecretsKey(layout);
    expect(key).toHaveLength(32);
    expect(statSync(secretsKeyPath(layout)).mode & 0o777).toBe(0o600);
    expect(loadSecretsKey(layout)).toEqual(key);
    expect(loadSecretsKey(freshHome())).not.toEqual(key);
  });

  it('refuses a file that does not hold a key, rather than making another over it', () => {
    const layout = freshHome();
    loadSecretsKey(layout);
    writeFileSync(secretsKeyPath(layout), 'not a key\n');
    expect(() => loadSecretsKey(layout)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(readFileSync(secretsKeyPath(layout), 'utf8')).toBe('not a key\n');
  });
});
