import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DEPLOYMENT_DEFAULTS, defaultConfigText } from '../../src/config/schema.js';

const withDeployment = (lines: string) =>
  defaultConfigText().replace(/\[deployment\]\n(?:.*\n)*?(?=\n|#\s*Registry)/, `[deployment]\n${lines}\n`);

function problems(source: string): string {
  try {
    parseConfig(source, 'tessera.toml');
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('[deployment] quotas in tessera.toml', () => {
  it('writes every quota with its default on a first start, and reads them back', () => {
    const text = defaultConfigText();
    for (const key of [
      'max_apps_per_tenant = 100',
      'max_tenant_mb = 2048',
      'max_app_mb = 512',
      'max_upload_mb = 64',
      'backup_retention_count = 5',
      'backup_retention_days = 30',
      'keep_versions = 5',
    ])
      expect(text).toContain(`\n${key}\n`);
    expect(parseConfig(text).deployment).toEqual({ hotDeploy: true, ...DEPLOYMENT_DEFAULTS });
  });

  it('reads the quotas set', () => {
    const source = withDeployment(
      'max_apps_per_tenant = 3\nmax_tenant_mb = 10\nmax_app_mb = 4\nmax_upload_mb = 2\n' +
        'backup_retention_count = 1\nbackup_retention_days = 0\nkeep_versions = 2',
    );
    expect(parseConfig(source).deployment).toEqual({
      hotDeploy: true,
      maxAppsPerTenant: 3,
      maxTenantMb: 10,
      maxAppMb: 4,
      maxUploadMb: 2,
      backupRetentionCount: 1,
      backupRetentionDays: 0,
      keepVersions: 2,
    });
  });

  it('refuses bad values with the file and line of each', () => {
    const source = withDeployment(
      'max_apps_per_tenant = 0\nmax_tenant_mb = 10\nmax_app_mb = 20\nmax_upload_mb = "big"\n' +
        'backup_retention_count = 0\nbackup_retention_days = -1',
    );
    const line = (key: string) => source.split('\n').findIndex((l) => l.startsWith(`${key} =`)) + 1;
    const message = problems(source);
    expect(message).toContain(
      `tessera.toml:${line('max_apps_per_tenant')}: deployment.max_apps_per_tenant must be a whole number from 1 to 100000`,
    );
    expect(message).toContain(
      `tessera.toml:${line('max_app_mb')}: deployment.max_app_mb (20) must not exceed deployment.max_tenant_mb (10)`,
    );
    expect(message).toContain(
      `tessera.toml:${line('max_upload_mb')}: deployment.max_upload_mb must be a whole number from 1 to 1024`,
    );
    expect(message).toContain(
      `tessera.toml:${line('backup_retention_count')}: deployment.backup_retention_count must be a whole number from 1 to 10000`,
    );
    expect(message).toContain(
      `tessera.toml:${line('backup_retention_days')}: deployment.backup_retention_days must be a whole number from 0 to 36500`,
    );
  });
});
