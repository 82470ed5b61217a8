import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HomeLayout, homeLayout, SUPER_TENANT_ID, webappsFolder } from '../../src/home/layout.js';
import { Deployer } from '../../src/webapps/deployer.js';
import { scratchFolder } from '../helpers/databases.js';
import { buildZip, type CapturedLog, captureLog, eventually, rawZip } from './helpers.js';

const ACME = 7;

describe('Deployer', () => {
  let scratch: { dir: string; remove: () => void };
  let layout: HomeLayout;
  let log: CapturedLog;
  let deployer: Deployer;
  let superApps: string;
  let acmeApps: string;

  beforeEach(() => {
    scratch = scratchFolder('deployer');
    layout = homeLayout(scratch.dir);
    log = captureLog();
    superApps = webappsFolder(layout, SUPER_TENANT_ID);
    acmeApps = webappsFolder(layout, ACME);
    mkdirSync(superApps, { recursive: true });
    mkdirSync(acmeApps, { recursive: true });
  });
  afterEach(async () => {
    await deployer?.close();
    scratch.remove();
  });

  function folderApp(
    webapps: string,
    name: string,
    files: Record<string, string> = { 'index.html': name },
  ): void {
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(webapps, name, file)), { recursive: true });
      writeFileSync(path.join(webapps, name, file), content);
    }
  }

  /** Writes a zip elsewhere and renames it in, as a careful operator (or `mv`) would. */
  async function dropZip(webapps: string, fileName: string, bytes: Buffer | Promise<Buffer>): Promise<void> {
    const aside = path.join(scratch.dir, `.${fileName}.part`);
    writeFileSync(aside, await bytes);
    renameSync(aside, path.join(webapps, fileName));
  }

  function warnings(): string[] {
    return log.lines.filter((line) => line.level === 40).map((line) => String(line.msg));
  }

  describe('at start and on rescan', () => {
    beforeEach(() => {
      deployer = new Deployer({ layout, logger: log.logger, hotDeploy: false });
    });

    it('deploys folders and zips per tenant, extracting zips under work/', async () => {
      folderApp(superApps, 'hello');
      folderApp(acmeApps, 'shop', { 'index.html': 'shop', 'tessera-app.toml': 'login = true' });
      await dropZip(acmeApps, 'docs.zip', buildZip({ 'index.html': 'docs' }));
      await deployer.start([SUPER_TENANT_ID, ACME]);

      expect(deployer.list(SUPER_TENANT_ID).map((app) => app.name)).toEqual(['hello']);
      expect(deployer.list(ACME).map((app) => [app.name, app.source, app.config.login])).toEqual([
        ['docs', 'zip', false],
        ['shop', 'folder', true],
      ]);
      const docs = deployer.app(ACME, 'docs');
      expect(docs?.root).toBe(path.join(layout.work, 'webapps', String(ACME), 'docs'));
      expect(readFileSync(path.join(docs?.root ?? '', 'index.html'), 'utf8')).toBe('docs');
      expect(deployer.app(SUPER_TENANT_ID, 'docs')).toBeUndefined();
      expect(deployer.app(ACME, 'hello')).toBeUndefined();
    });

    it('refuses reserved and malformed names with a log line', async () => {
      for (const name of ['api', 'console', 't', 'healthz', 'readyz', 'metrics', 'openapi.json', 'Console']) {
        folderApp(superApps, name);
      }
      await dropZip(superApps, 'metrics.zip', buildZip({ 'index.html': 'x' }));
      await dropZip(superApps, 'bad name.zip', buildZip({ 'index.html': 'x' }));
      await deployer.start([SUPER_TENANT_ID]);
      expect(deployer.list(SUPER_TENANT_ID)).toEqual([]);
      const refused = warnings();
      for (const entry of [
        'api',
        'console',
        't',
        'healthz',
        'readyz',
        'metrics',
        'openapi.json',
        'metrics.zip',
      ]) {
        expect(refused).toContainEqual(
          expect.stringMatching(new RegExp(`"${entry.replace('.', '\\.')}" refused: .*reserved`)),
        );
      }
      expect(refused).toContainEqual(expect.stringContaining('"bad name.zip" refused: names must match'));
    });

    it('refuses a zip named like a folder app, and deploys it once the folder goes', async () => {
      folderApp(superApps, 'hello');
      await deployer.start([SUPER_TENANT_ID]);
      await dropZip(superApps, 'hello.zip', buildZip({ 'index.html': 'from zip' }));
      await deployer.rescan();
      expect(deployer.app(SUPER_TENANT_ID, 'hello')?.source).toBe('folder');
      expect(warnings()).toContainEqual(
        'webapp "hello.zip" refused: app "hello" is already deployed from "hello"',
      );
      await deployer.rescan();
      expect(warnings().filter((m) => m.includes('hello.zip'))).toHaveLength(1); // logged once, not per scan

      rmSync(path.join(superApps, 'hello'), { recursive: true });
      await deployer.rescan();
      const hello = deployer.app(SUPER_TENANT_ID, 'hello');
      expect(hello?.source).toBe('zip');
      expect(readFileSync(path.join(hello?.root ?? '', 'index.html'), 'utf8')).toBe('from zip');
    });

    it('refuses an unsafe zip with a log line naming the entry, writing nothing, and keeps the others', async () => {
      folderApp(superApps, 'hello');
      await dropZip(
        superApps,
        'evil.zip',
        rawZip([
          { name: 'index.html', content: 'x' },
          { name: '../evil', content: 'pwned' },
        ]),
      );
      await dropZip(superApps, 'abs.zip', rawZip([{ name: '/etc/x', content: 'pwned' }]));
      await dropZip(
        superApps,
        'link.zip',
        rawZip([{ name: 'passwd', content: '/etc/passwd', mode: 0o120777 }]),
      );
      await dropZip(superApps, 'junk.zip', Buffer.from('not a zip'));
      await deployer.start([SUPER_TENANT_ID]);

      expect(deployer.list(SUPER_TENANT_ID).map((app) => app.name)).toEqual(['hello']);
      const refusals = log.lines.filter((line) => line.level === 40);
      expect(refusals).toContainEqual(
        expect.objectContaining({
          tenant: SUPER_TENANT_ID,
          app: 'evil',
          entry: '../evil',
          refusal: 'unsafe-entry',
        }),
      );
      expect(refusals).toContainEqual(expect.objectContaining({ app: 'abs', entry: '/etc/x' }));
      expect(refusals).toContainEqual(expect.objectContaining({ app: 'link', entry: 'passwd' }));
      expect(refusals).toContainEqual(expect.objectContaining({ app: 'junk', refusal: 'malformed' }));
      expect(warnings()).toContainEqual(expect.stringContaining('entry "../evil" escapes the app folder'));

      const extracted = path.join(layout.work, 'webapps', String(SUPER_TENANT_ID));
      expect(readdirSync(extracted)).toEqual([]); // no app folder, no leftover staging folder
      expect(existsSync(path.join(layout.work, 'webapps', 'evil'))).toBe(false);
      expect(existsSync(path.join(extracted, 'evil'))).toBe(false);
    });

    it('refuses an app with a bad tessera-app.toml, and deploys it once fixed', async () => {
      folderApp(superApps, 'shop', { 'index.html': 'shop', 'tessera-app.toml': 'login = maybe' });
      await dropZip(
        superApps,
        'docs.zip',
        buildZip({ 'index.html': 'docs', 'tessera-app.toml': 'logon = true' }),
      );
      await deployer.start([SUPER_TENANT_ID]);
      expect(deployer.list(SUPER_TENANT_ID)).toEqual([]);
      expect(warnings()).toContainEqual(
        expect.stringContaining('webapp "shop" refused: tessera-app.toml is not valid TOML'),
      );
      expect(warnings()).toContainEqual(
        expect.stringContaining('webapp "docs" refused: tessera-app.toml has unknown keys: logon'),
      );
      expect(readdirSync(path.join(layout.work, 'webapps', String(SUPER_TENANT_ID)))).toEqual([]);

      writeFileSync(path.join(superApps, 'shop', 'tessera-app.toml'), 'login = true\n# fixed');
      await deployer.rescan();
      expect(deployer.app(SUPER_TENANT_ID, 'shop')?.config.login).toBe(true);
    });

    it('undeploys a tenant on removeTenant', async () => {
      await dropZip(acmeApps, 'docs.zip', buildZip({ 'index.html': 'docs' }));
      await deployer.start([ACME]);
      const root = deployer.app(ACME, 'docs')?.root ?? '';
      expect(existsSync(root)).toBe(true);
      await deployer.removeTenant(ACME);
      expect(deployer.list(ACME)).toEqual([]);
      expect(existsSync(root)).toBe(false);
      expect(existsSync(path.join(acmeApps, 'docs.zip'))).toBe(true);
    });

    it('does not watch without hot deploy', async () => {
      await deployer.start([SUPER_TENANT_ID]);
      folderApp(superApps, 'late');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(deployer.app(SUPER_TENANT_ID, 'late')).toBeUndefined();
      await deployer.rescan();
      expect(deployer.app(SUPER_TENANT_ID, 'late')).toBeDefined();
    });
  });

  describe('hot deploy', () => {
    beforeEach(async () => {
      // Default timings, except a slower safety-net rescan, so that these tests exercise fs.watch.
      deployer = new Deployer({ layout, logger: log.logger, rescanIntervalMs: 60_000 });
      await deployer.start([SUPER_TENANT_ID, ACME]);
    });

    it('deploys a dropped folder and undeploys it when removed', async () => {
      folderApp(acmeApps, 'hello');
      await eventually(() => deployer.app(ACME, 'hello') !== undefined, 3_000);
      rmSync(path.join(acmeApps, 'hello'), { recursive: true });
      await eventually(() => deployer.app(ACME, 'hello') === undefined, 3_000);
    });

    it('deploys a dropped zip, redeploys it when it changes and undeploys it when removed', async () => {
      await dropZip(superApps, 'docs.zip', buildZip({ 'index.html': 'v1' }));
      await eventually(() => deployer.app(SUPER_TENANT_ID, 'docs') !== undefined, 3_000);
      const root = deployer.app(SUPER_TENANT_ID, 'docs')?.root ?? '';
      expect(readFileSync(path.join(root, 'index.html'), 'utf8')).toBe('v1');

      const first = deployer.app(SUPER_TENANT_ID, 'docs');
      await dropZip(superApps, 'docs.zip', buildZip({ 'index.html': 'version two', 'new.txt': 'new' }));
      await eventually(() => deployer.app(SUPER_TENANT_ID, 'docs') !== first, 3_000);
      expect(readFileSync(path.join(root, 'index.html'), 'utf8')).toBe('version two');
      expect(readFileSync(path.join(root, 'new.txt'), 'utf8')).toBe('new');

      rmSync(path.join(superApps, 'docs.zip'));
      // Unregistered first (no more requests), then its extracted folder removed.
      await eventually(() => deployer.app(SUPER_TENANT_ID, 'docs') === undefined && !existsSync(root), 3_000);
    });

    it('waits for a zip that is still being written', async () => {
      const zip = await buildZip({ 'index.html': 'x'.repeat(50_000), 'b.txt': 'b' });
      const handle = await open(path.join(superApps, 'slow.zip'), 'w');
      await handle.write(zip.subarray(0, 1000));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await handle.write(zip.subarray(1000));
      await handle.close();
      await eventually(() => deployer.app(SUPER_TENANT_ID, 'slow') !== undefined, 3_000);
      expect(warnings()).toEqual([]);
    });

    it('picks up a changed tessera-app.toml in a folder app', async () => {
      folderApp(acmeApps, 'shop');
      await eventually(() => deployer.app(ACME, 'shop') !== undefined, 3_000);
      expect(deployer.app(ACME, 'shop')?.config.login).toBe(false);
      writeFileSync(path.join(acmeApps, 'shop', 'tessera-app.toml'), 'login = true');
      // A change inside an app folder is not an event on webapps/: the rescan picks it up.
      await deployer.rescan();
      expect(deployer.app(ACME, 'shop')?.config.login).toBe(true);
    });
  });
});
