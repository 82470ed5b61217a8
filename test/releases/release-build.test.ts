import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchFolder } from '../helpers/databases.js';
import { dependenciesCovered } from '../helpers/release-build.js';

const scratch = scratchFolder('release-build');
afterAll(() => scratch.remove());

function lock(name: string, packages: Record<string, { version: string; integrity?: string }>): string {
  const file = path.join(scratch.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ packages: { '': { version: name }, ...packages } }));
  return file;
}

describe("a release's dependencies served by this checkout's node_modules", () => {
  const release = lock('2.0.1', {
    'node_modules/pg': { version: '8.23.1', integrity: 'sha512-a' },
    'node_modules/a/node_modules/b': { version: '1.0.0', integrity: 'sha512-b' },
  });

  it('are covered when this checkout pins the same ones, and more', () => {
    const checkout = lock('2.1.0', {
      'node_modules/pg': { version: '8.23.1', integrity: 'sha512-a' },
      'node_modules/a/node_modules/b': { version: '1.0.0', integrity: 'sha512-b' },
      'node_modules/undici': { version: '7.30.3', integrity: 'sha512-u' },
    });
    expect(dependenciesCovered(release, checkout)).toBe(true);
  });

  it('are not when one moved, changed version or went', () => {
    const moved = lock('moved', {
      'node_modules/pg': { version: '8.23.1', integrity: 'sha512-a' },
      'node_modules/b': { version: '1.0.0', integrity: 'sha512-b' },
    });
    const bumped = lock('bumped', {
      'node_modules/pg': { version: '8.24.0', integrity: 'sha512-c' },
      'node_modules/a/node_modules/b': { version: '1.0.0', integrity: 'sha512-b' },
    });
    expect(dependenciesCovered(release, moved)).toBe(false);
    expect(dependenciesCovered(release, bumped)).toBe(false);
  });
});
