import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appDataFolder,
  type HomeLayout,
  homeLayout,
  SUPER_TENANT_ID,
  webappsFolder,
} from '../../src/home/layout.js';
import { type DeployedApp, Deployer } from '../../src/webapps/deployer.js';
import { scratchFolder } from '../helpers/databases.js';
import { buildZip, type CapturedLog, captureLog } from './helpers.js';

const ACME = 7;
const NODE_APP = { 'tessera-app.toml': 'entry = "server.js"\n', 'server.js': 'export default {}' };

describe('Deployer with node apps', () => {
  let scratch: { dir: string; remove: () => void };
  let layout: HomeLayout;
  let log: CapturedLog;
  let deployer: Deployer;
  let acmeApps: string;
  /** What the listener was told, in order: `deployed shop <version>`, `undeployed shop <version>`. */
  let events: string[];
  let told: DeployedApp[];

  beforeEach(() => {
    scratch = scratchFolder('deployer-node');
    layout = homeLayout(scratch.dir);
    log = captureLog();
    acmeApps = webappsFolder(layout, ACME);
    mkdirSync(acmeApps, { recursive: true });
    mkdirSync(webappsFolder(layout, SUPER_TENANT_ID), { recursive: true });
    events = [];
    told = [];
    const note = (event: string) => (app: DeployedApp) => {
      events.push(`${event} ${app.name} ${app.version}`);
      told.push(app);
    };
    deployer = new Deployer({
      layout,
      logger: log.logger,
      hotDeploy: false,
      apps: { deployed: note('deployed'), undeployed: note('undeployed') },
    });
  });
  afterEach(async () => {
    await deployer.close();
    scratch.remove();
  });

  function folderApp(name: string, files: Record<string, string>): void {
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(acmeApps, name, file)), { recursive: true });
      writeFileSync(path.join(acmeApps, name, file), content);
    }
  }

  async function dropZip(fileName: string, files: Record<string, string>): Promise<void> {
    const aside = path.join(scratch.dir, `.${fileName}.part`);
    writeFileSync(aside, await buildZip(files));
    renameSync(aside, path.join(acmeApps, fileName));
  }

  const refusal = (entry: string) => deployer.refused(ACME).find((r) => r.entry === entry);

  it('deploys a node app with its settings, version and a private data folder', async () => {
    await dropZip('shop.zip', {
      ...NODE_APP,
      'tessera-app.toml': 'entry = "server.js"\nhealth = "/up"\n[env]\nA = "b"\n[limits]\nmemory_mb = 64\n',
    });
    await deployer.start([ACME]);
    const shop = deployer.app(ACME, 'shop');
    expect(shop?.config).toEqual({
      runtime: 'node',
      entry: 'server.js',
      login: false,
      health: '/up',
      env: { A: 'b' },
      limits: { memoryMb: 64, requestTimeoutS: 30, maxConcurrent: 64, maxBodyMb: 10, startTimeoutS: 60 },
    });
    expect(shop?.version).toBe(shop?.deployedAt.toISOString());
    const dataDir = appDataFolder(layout, ACME, 'shop');
    expect(dataDir).toBe(path.join(layout.tenants, String(ACME), 'appdata', 'shop'));
    expect(shop?.dataDir).toBe(dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.dirname(dataDir)).mode & 0o777).toBe(0o700);
    expect(events).toEqual([`deployed shop ${shop?.version}`]);
    expect(told[0]).toBe(shop);
  });

  it('gives static apps no data folder', async () => {
    folderApp('docs', { 'index.html': 'docs' });
    await deployer.start([ACME]);
    expect(deployer.app(ACME, 'docs')?.config.runtime).toBe('static');
    expect(deployer.app(ACME, 'docs')?.dataDir).toBeUndefined();
    expect(existsSync(path.join(layout.tenants, String(ACME), 'appdata'))).toBe(false);
  });

  it('tells the listener of a zip redeployed and undeployed, keeping the data folder', async () => {
    await dropZip('shop.zip', NODE_APP);
    await deployer.start([ACME]);
    const first = deployer.app(ACME, 'shop');
    const kept = path.join(appDataFolder(layout, ACME, 'shop'), 'orders.json');
    writeFileSync(kept, '[1]');

    // The version is the deployment time: a redeploy within the same millisecond would repeat it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await dropZip('shop.zip', { ...NODE_APP, 'server.js': 'export default { v: 2 }' });
    await deployer.rescan();
    const second = deployer.app(ACME, 'shop');
    expect(second).not.toBe(first);
    expect(second?.version).not.toBe(first?.version);
    expect(readFileSync(path.join(second?.root ?? '', 'server.js'), 'utf8')).toContain('v: 2');
    expect(readFileSync(kept, 'utf8')).toBe('[1]');

    rmSync(path.join(acmeApps, 'shop.zip'));
    await deployer.rescan();
    expect(deployer.app(ACME, 'shop')).toBeUndefined();
    expect(events).toEqual([
      `deployed shop ${first?.version}`,
      `deployed shop ${second?.version}`,
      `undeployed shop ${second?.version}`,
    ]);
    expect(told[2]).toBe(second);
    expect(readFileSync(kept, 'utf8')).toBe('[1]');
  });

  it('tells the listener of every app of a removed tenant', async () => {
    await dropZip('shop.zip', NODE_APP);
    folderApp('docs', { 'index.html': 'docs' });
    await deployer.start([ACME]);
    await deployer.removeTenant(ACME);
    expect(events.map((e) => e.split(' ').slice(0, 2).join(' ')).sort()).toEqual([
      'deployed docs',
      'deployed shop',
      'undeployed docs',
      'undeployed shop',
    ]);
    expect(existsSync(appDataFolder(layout, ACME, 'shop'))).toBe(true);
  });

  it('tells the listener when a new version is refused and the old one goes', async () => {
    await dropZip('shop.zip', NODE_APP);
    await deployer.start([ACME]);
    await dropZip('shop.zip', { 'tessera-app.toml': 'entry = "gone.js"\n', 'server.js': '' });
    await deployer.rescan();
    expect(deployer.app(ACME, 'shop')).toBeUndefined();
    expect(events.map((e) => e.split(' ')[0])).toEqual(['deployed', 'undeployed']);
    expect(refusal('shop.zip')).toMatchObject({ error: 'CONFIG_INVALID' });
    expect(refusal('shop.zip')?.message).toContain('entry "gone.js" does not exist in the app');
  });

  it('refuses a zip whose entry is missing, a folder or a link out of the app', async () => {
    await dropZip('missing.zip', { 'tessera-app.toml': 'entry = "server.js"' });
    await dropZip('folder.zip', { 'tessera-app.toml': 'entry = "lib"', 'lib/a.js': '' });
    await deployer.start([ACME]);
    expect(deployer.list(ACME)).toEqual([]);
    expect(refusal('missing.zip')?.message).toBe(
      'tessera-app.toml: entry "server.js" does not exist in the app',
    );
    expect(refusal('folder.zip')?.message).toBe('tessera-app.toml: entry "lib" is not a regular file');
    expect(events).toEqual([]);
    expect(log.messages()).toContainEqual(
      'webapp "missing" refused: tessera-app.toml: entry "server.js" does not exist in the app',
    );
  });

  it('refuses a folder app whose entry links outside it, and one whose entry is not there yet until it is', async () => {
    writeFileSync(path.join(scratch.dir, 'elsewhere.js'), 'export default {}');
    folderApp('escape', { 'tessera-app.toml': 'entry = "server.js"' });
    symlinkSync(path.join(scratch.dir, 'elsewhere.js'), path.join(acmeApps, 'escape', 'server.js'));
    folderApp('late', { 'tessera-app.toml': 'entry = "server.js"' });
    await deployer.start([ACME]);
    expect(refusal('escape')?.message).toBe(
      'tessera-app.toml: entry "server.js" leads outside the app folder (through a symlink); the entry must be a file inside it',
    );
    expect(refusal('late')?.error).toBe('CONFIG_INVALID');

    // Copying a folder in writes tessera-app.toml before server.js, perhaps: the refusal is looked at
    // again without the settings changing, and logged once.
    await deployer.rescan();
    writeFileSync(path.join(acmeApps, 'late', 'server.js'), 'export default {}');
    await deployer.rescan();
    expect(deployer.app(ACME, 'late')?.config.entry).toBe('server.js');
    expect(refusal('late')).toBeUndefined();
    const lateRefusals = log.messages().filter((m) => m.startsWith('webapp "late" refused'));
    expect(lateRefusals).toHaveLength(1);
  });
});
