import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HomeLayout, homeLayout, SUPER_TENANT_ID, webappsFolder } from '../../src/home/layout.js';
import { Deployer } from '../../src/webapps/deployer.js';
import { scratchFolder } from '../helpers/databases.js';
import { buildZip, type CapturedLog, captureLog } from './helpers.js';

const ACME = 7;
const GLOBEX = 8;
const KB = 1024;

/** Apps dropped into webapps/ by hand, against the deployer's per-tenant quotas. */
describe('Deployer quotas', () => {
  let scratch: { dir: string; remove: () => void };
  let layout: HomeLayout;
  let log: CapturedLog;
  let deployer: Deployer | undefined;

  beforeEach(() => {
    scratch = scratchFolder('quotas');
    layout = homeLayout(scratch.dir);
    log = captureLog();
    for (const tenant of [SUPER_TENANT_ID, ACME, GLOBEX])
      mkdirSync(webappsFolder(layout, tenant), { recursive: true });
  });
  afterEach(async () => {
    await deployer?.close();
    deployer = undefined;
    scratch.remove();
  });

  const apps = (tenant: number) => webappsFolder(layout, tenant);
  const names = (tenant: number) => deployer?.list(tenant).map((app) => app.name);

  async function dropZip(tenant: number, name: string, bytes: number): Promise<void> {
    const aside = path.join(scratch.dir, `.${name}.part`);
    writeFileSync(aside, await buildZip({ 'index.html': name, 'data.bin': Buffer.alloc(bytes) }));
    renameSync(aside, path.join(apps(tenant), `${name}.zip`));
  }

  function dropFolder(tenant: number, name: string, bytes: number): void {
    mkdirSync(path.join(apps(tenant), name));
    writeFileSync(path.join(apps(tenant), name, 'index.html'), name);
    writeFileSync(path.join(apps(tenant), name, 'data.bin'), Buffer.alloc(bytes));
  }

  it('refuses the app past max_apps_per_tenant, reports it, and deploys it once another is gone', async () => {
    deployer = new Deployer({
      layout,
      logger: log.logger,
      hotDeploy: false,
      quotas: { maxAppsPerTenant: 2 },
    });
    await dropZip(ACME, 'a', 10);
    dropFolder(ACME, 'b', 10);
    await dropZip(ACME, 'c', 10);
    await deployer.start([ACME, GLOBEX, SUPER_TENANT_ID]);

    expect(names(ACME)).toEqual(['a', 'b']);
    expect(deployer.refused(ACME)).toEqual([
      {
        name: 'c',
        entry: 'c.zip',
        source: 'zip',
        error: 'QUOTA_EXCEEDED',
        message:
          'App "c" refused: deployment.max_apps_per_tenant is 2 and tenant 7 already has 2 apps. ' +
          'Undeploy an app first, or raise deployment.max_apps_per_tenant in tessera.toml.',
      },
    ]);
    const warnings = log.lines.filter((line) => line.level === 40 && line.app === 'c');
    expect(warnings).toEqual([expect.objectContaining({ quota: 'deployment.max_apps_per_tenant' })]);

    // A rescan does not log the same refusal again; another tenant and the super tenant are unaffected.
    await dropZip(GLOBEX, 'a', 10);
    await dropZip(GLOBEX, 'b', 10);
    await dropZip(SUPER_TENANT_ID, 'a', 10);
    await deployer.rescan();
    expect(log.lines.filter((line) => line.level === 40 && line.app === 'c')).toHaveLength(1);
    expect(names(GLOBEX)).toEqual(['a', 'b']);
    expect(names(SUPER_TENANT_ID)).toEqual(['a']);

    // A redeploy of an app it has is no new app.
    await dropZip(ACME, 'a', 20);
    rmSync(path.join(apps(ACME), 'a.zip'));
    await dropZip(ACME, 'a', 30);
    await deployer.rescan();
    expect(names(ACME)).toEqual(['a', 'b']);

    rmSync(path.join(apps(ACME), 'b'), { recursive: true });
    await deployer.rescan();
    expect(names(ACME)).toEqual(['a', 'c']);
    expect(deployer.refused(ACME)).toEqual([]);
  });

  it("counts every app of the tenant, zips and folders, against max_tenant_mb, and no other tenant's", async () => {
    const quotas = { maxTenantBytes: 100 * KB, maxAppBytes: 80 * KB };
    deployer = new Deployer({ layout, logger: log.logger, hotDeploy: false, quotas });
    await dropZip(ACME, 'a', 50 * KB);
    dropFolder(ACME, 'b', 30 * KB);
    await dropZip(ACME, 'c', 30 * KB);
    dropFolder(ACME, 'd', 90 * KB);
    await deployer.start([ACME, GLOBEX, SUPER_TENANT_ID]);

    const used = (deployer.app(ACME, 'a')?.bytes ?? 0) + (deployer.app(ACME, 'b')?.bytes ?? 0);
    expect(used).toBeGreaterThan(80 * KB);
    expect(names(ACME)).toEqual(['a', 'b']);
    expect(deployer.usage(ACME)).toEqual({ apps: 2, bytes: used });
    const refused = deployer.refused(ACME);
    expect(refused.map((r) => [r.entry, r.error])).toEqual([
      ['c.zip', 'QUOTA_EXCEEDED'],
      ['d', 'QUOTA_EXCEEDED'],
    ]);
    expect(refused[0]?.message).toMatch(
      new RegExp(
        `deployment.max_tenant_mb is .* \\(102400 bytes\\) of which tenant 7's other apps use ${used} bytes`,
      ),
    );
    // d alone is past the per-app quota, whatever the tenant uses.
    expect(refused[1]?.message).toMatch(/deployment.max_app_mb is .* \(81920 bytes\)/);
    // Nothing of c was left extracted.
    expect(deployer.app(ACME, 'c')).toBeUndefined();

    // The same apps fit in another tenant and in the super tenant: each tenant's use is its own.
    await dropZip(GLOBEX, 'a', 50 * KB);
    dropFolder(GLOBEX, 'b', 30 * KB);
    await dropZip(SUPER_TENANT_ID, 'c', 30 * KB);
    await deployer.rescan();
    expect(names(GLOBEX)).toEqual(['a', 'b']);
    expect(names(SUPER_TENANT_ID)).toEqual(['c']);

    // Room made in the tenant lets the refused app in at the next scan.
    rmSync(path.join(apps(ACME), 'b'), { recursive: true });
    await deployer.rescan();
    expect(names(ACME)).toEqual(['a', 'c']);
  });
});
