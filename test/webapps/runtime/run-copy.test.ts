import { mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyForRun } from '../../../src/webapps/runtime/run-copy.js';
import { scratchFolder } from '../../helpers/databases.js';

const folders: Array<{ remove(): void }> = [];
afterEach(() => {
  for (const folder of folders.splice(0)) folder.remove();
});

describe('the run copy of an app', () => {
  it('copies files with their modes and links as they are, so relative links point inside the copy', async () => {
    const scratch = scratchFolder('run-copy');
    folders.push(scratch);
    const app = path.join(scratch.dir, 'app');
    mkdirSync(path.join(app, 'node_modules', 'tool', 'bin'), { recursive: true });
    mkdirSync(path.join(app, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(path.join(app, 'server.js'), 'module.exports = () => {};');
    writeFileSync(path.join(app, 'node_modules', 'tool', 'bin', 'run.js'), '#!/usr/bin/env node', {
      mode: 0o755,
    });
    symlinkSync('../tool/bin/run.js', path.join(app, 'node_modules', '.bin', 'tool'));

    const copy = await copyForRun(app, path.join(scratch.dir, 'work', 'apps', '1', 'app', '1'));
    expect(readFileSync(path.join(copy, 'server.js'), 'utf8')).toBe('module.exports = () => {};');
    expect(statSync(path.join(copy, 'node_modules', 'tool', 'bin', 'run.js')).mode & 0o777).toBe(0o755);
    const link = path.join(copy, 'node_modules', '.bin', 'tool');
    expect(readlinkSync(link)).toBe('../tool/bin/run.js');
    // Read through the link: the copy's file, not the source's.
    writeFileSync(path.join(app, 'node_modules', 'tool', 'bin', 'run.js'), 'changed at the source');
    expect(readFileSync(link, 'utf8')).toBe('#!/usr/bin/env node');
    expect(statSync(copy).mode & 0o777).toBe(0o700);
  });

  it('refuses to copy over an existing folder', async () => {
    const scratch = scratchFolder('run-copy');
    folders.push(scratch);
    const app = path.join(scratch.dir, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'a.js'), '');
    const target = path.join(scratch.dir, 'runs', '1');
    mkdirSync(target, { recursive: true });
    await expect(copyForRun(app, target)).rejects.toThrow(/EEXIST/);
  });
});
