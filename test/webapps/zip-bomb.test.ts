import fs, { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { homeLayout, webappsFolder } from '../../src/home/layout.js';
import { Deployer } from '../../src/webapps/deployer.js';
import { extractWithinQuota } from '../../src/webapps/quotas.js';
import { scratchFolder } from '../helpers/databases.js';
import { captureLog } from './helpers.js';
import { lyingZipBomb, zipBomb } from './zip-bombs.js';

/**
 * Every byte the code under test writes through fs write streams, the way extraction writes files: Node's
 * `fs.createWriteStream` wrapped while a test runs, and the wrapper made what `import { createWriteStream }
 * from 'node:fs'` gives too (syncBuiltinESMExports), whichever test files ran before in this worker.
 */
const written = { bytes: 0 };
const realCreateWriteStream = fs.createWriteStream;
function countingCreateWriteStream(
  ...args: Parameters<typeof fs.createWriteStream>
): ReturnType<typeof fs.createWriteStream> {
  const stream = realCreateWriteStream(...args);
  const write = stream.write.bind(stream) as (chunk: Buffer, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: Buffer, ...rest: unknown[]) => {
    written.bytes += chunk.length;
    return write(chunk, ...rest);
  }) as typeof stream.write;
  return stream;
}
beforeAll(() => {
  fs.createWriteStream = countingCreateWriteStream as typeof fs.createWriteStream;
  syncBuiltinESMExports();
});
afterAll(() => {
  fs.createWriteStream = realCreateWriteStream;
  syncBuiltinESMExports();
});

const MIB = 1024 * 1024;
const ACME = 7;
const QUOTAS = { maxAppsPerTenant: 10, maxTenantBytes: 4 * MIB, maxAppBytes: 1 * MIB };
const NOTHING_DEPLOYED = { apps: 0, bytes: 0 };

describe('zip bombs against the quotas', () => {
  let scratch: { dir: string; remove: () => void };
  beforeEach(() => {
    scratch = scratchFolder('zip-bomb');
    written.bytes = 0;
  });
  afterEach(() => scratch.remove());

  it('refuses a 100 MB bomb from its directory before writing a byte', async () => {
    const bomb = await zipBomb(100);
    expect(bomb.length).toBeLessThan(150 * 1024);
    const zip = path.join(scratch.dir, 'bomb.zip');
    writeFileSync(zip, bomb);
    const destination = path.join(scratch.dir, 'out');
    mkdirSync(destination);
    written.bytes = 0;
    await expect(
      extractWithinQuota(zip, destination, QUOTAS, 'tenant acme.com', 'bomb', NOTHING_DEPLOYED),
    ).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      quota: 'deployment.max_app_mb',
      message: expect.stringMatching(/declares 104857600 bytes.*max_app_mb is 1 MB \(1048576 bytes\)/),
    });
    expect(written.bytes).toBe(0);
    expect(readdirSync(destination)).toEqual([]);

    // The counter sees extraction: a bomb within the quota is written whole.
    writeFileSync(zip, await zipBomb(1));
    await extractWithinQuota(zip, destination, QUOTAS, 'tenant acme.com', 'bomb', NOTHING_DEPLOYED);
    expect(written.bytes).toBe(MIB);
  });

  it('stops a bomb whose directory lies about its size at the size it declared', async () => {
    const declared = 1000;
    const zip = path.join(scratch.dir, 'liar.zip');
    writeFileSync(zip, await lyingZipBomb(100, declared));
    const destination = path.join(scratch.dir, 'out');
    mkdirSync(destination);
    written.bytes = 0;
    await expect(
      extractWithinQuota(zip, destination, QUOTAS, 'tenant acme.com', 'liar', NOTHING_DEPLOYED),
    ).rejects.toMatchObject({
      code: 'UNSAFE_ARCHIVE',
      message: expect.stringMatching(/inflates to more than the 1000 bytes the archive's directory declares/),
    });
    expect(written.bytes).toBeLessThanOrEqual(declared);
  });

  it('never extracts a bomb dropped into webapps/ by hand past the quota, and reports it', async () => {
    const layout = homeLayout(scratch.dir);
    const webapps = webappsFolder(layout, ACME);
    mkdirSync(webapps, { recursive: true });
    writeFileSync(path.join(webapps, 'bomb.zip'), await zipBomb(100));
    writeFileSync(path.join(webapps, 'liar.zip'), await lyingZipBomb(100, 1000));
    const log = captureLog();
    const deployer = new Deployer({ layout, logger: log.logger, hotDeploy: false, quotas: QUOTAS });
    written.bytes = 0;
    try {
      await deployer.start([ACME]);
      expect(deployer.list(ACME)).toEqual([]);
      expect(deployer.refused(ACME)).toEqual([
        expect.objectContaining({
          entry: 'bomb.zip',
          error: 'QUOTA_EXCEEDED',
          message: expect.stringMatching(/max_app_mb/),
        }),
        expect.objectContaining({
          entry: 'liar.zip',
          error: 'UNSAFE_ARCHIVE',
          message: expect.stringMatching(/declares/),
        }),
      ]);
      expect(log.lines).toContainEqual(
        expect.objectContaining({ level: 40, app: 'bomb', quota: 'deployment.max_app_mb' }),
      );
      expect(written.bytes).toBeLessThanOrEqual(1000);
      expect(readdirSync(path.join(layout.work, 'webapps', String(ACME)))).toEqual([]);
    } finally {
      await deployer.close();
    }
  });
});
