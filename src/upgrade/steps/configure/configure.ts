import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import type { ConfigFormat } from '../../../config/config-format.js';
import { isTesseraError } from '../../../errors.js';
import { secretsKeyPath } from '../../../home/secrets-key.js';
import {
  type ConfigUpgrade,
  formatConfigChanges,
  summarizeConfigChanges,
  upgradeConfig,
} from '../../../releases/config/index.js';
import { getRelease } from '../../../releases/matrix.js';
import { crashPoint } from '../../crash.js';
import { type CarriedApps, recordCarriedApps } from '../../home/app-versions.js';
import { writeFileAtomic } from '../../home/atomic.js';
import type { Step, UpgradeContext } from '../../types.js';
import { type CopyUnit, homeCopyUnits, listTenantFolders } from './copy-units.js';
import { mirrorFolder } from './mirror.js';
import {
  assertStoresCarriable,
  copyStoreDatabase,
  findStoreDatabases,
  type StoreDatabaseCopy,
  type StoreDatabases,
  type StoreLeftInPlace,
} from './store-database-files.js';
import { readTree } from './tree.js';

/** The new config may carry a database password: readable by the server's user only. */
const CONFIG_FILE_MODE = 0o600;

/** What configure records: the config it wrote with its report, and every copy it made into the new home. */
export interface ConfigureDetails {
  configFile: string;
  sourceFormat: ConfigFormat;
  targetFormat: ConfigFormat;
  /** Every key of the old config and what became of it (the report `tessera upgrade report` prints). */
  report: ConfigUpgrade['changes'];
  warnings: string[];
  storeDatabases: StoreDatabaseCopy[];
  storesLeftInPlace: StoreLeftInPlace[];
  copies: Awaited<ReturnType<typeof copyUnits>>;
  /** The new home's apps, recorded in staging as each app's current version (2.1.0 and later). */
  apps?: CarriedApps;
  ignored: string[];
  durationMs: number;
}

/**
 * Upgrade step 7 (docs/architecture.md, The upgrade): the new release's config, made from the old one by explicit rules and pointed at
 * the upgraded database, then the old home's folders copied into the new home in an order a running
 * server could follow, each copy verified. The old home is only ever read.
 */
export const configureStep: Step<'configure', ConfigureDetails> = {
  name: 'configure',
  title: 'Write the new config and copy the home folders',

  async describe(context) {
    const lines = await describeConfig(context);
    const { units, databases, ignored } = await copyPlan(context);
    for (const store of databases.outsideHome) {
      lines.push(
        `cannot carry store ${store.store}: ${store.url} is ${store.reason}; give it an absolute sqlite: path first`,
      );
    }
    for (const file of databases.files) {
      const { size } = await stat(file.source);
      lines.push(`copy store database ${file.relative}: ${size} bytes (used by ${file.usedBy.join(', ')})`);
    }
    for (const store of databases.leftInPlace)
      lines.push(`leave store ${store.store} at ${store.url}: ${store.reason}`);
    for (const unit of units) {
      const tree = await readTree(unit.source, { hash: false, exclude: unit.exclude });
      const without = unit.exclude.length > 0 ? ` (without ${unit.exclude.join(', ')}/)` : '';
      lines.push(
        `copy ${unit.label}${without}: ${tree.files} files, ${tree.directories} folders, ${tree.bytes} bytes`,
      );
    }
    for (const entry of ignored) lines.push(`skip ${entry}: not a tenant folder`);
    lines.push(
      'record each app of the copied webapps/ folders in staging as its current version, so every node of the new release serves it',
    );
    lines.push('create logs/ and backups/ in the new home; the old home is not changed');
    return lines;
  },

  async run(context) {
    const started = performance.now();
    const { newLayout, progress } = context;

    // Everything the step could refuse is checked before anything is written.
    const config = await transformConfig(context);
    const { units, databases, ignored } = await copyPlan(context);
    assertStoresCarriable(databases);

    await writeFileAtomic(newLayout.configFile, config.text, CONFIG_FILE_MODE);
    progress.line(
      `Wrote ${newLayout.configFile} (${config.sourceFormat} -> ${config.targetFormat}): ${summarizeConfigChanges(config.changes)}`,
    );
    for (const line of formatConfigChanges(config.changes)) progress.line(`  ${line}`);
    for (const warning of config.warnings) progress.line(`  warning: ${warning}`);
    // The key that sealed the database's TOTP secrets goes with the database (homes of 2.1.0 on have one).
    const oldKey = secretsKeyPath(context.oldLayout);
    if (existsSync(oldKey)) {
      await writeFileAtomic(secretsKeyPath(newLayout), await readFile(oldKey, 'utf8'), CONFIG_FILE_MODE);
      progress.line(`Copied ${oldKey} into ${newLayout.conf}.`);
    }

    // Store databases first: a store file must not be there before the database it names.
    const storeDatabases = [];
    for (const file of databases.files) {
      storeDatabases.push(await copyStoreDatabase(file));
      crashPoint('configure:copy');
    }
    const copies = await copyUnits(context, units);
    const apps = await recordCarriedApps(context);
    if (apps.apps.length > 0 || apps.skipped.length > 0)
      progress.line(
        `Recorded ${apps.apps.length} apps in staging as their current versions` +
          (apps.skipped.length > 0 ? `; not recorded: ${apps.skipped.join('; ')}` : '.'),
      );

    for (const folder of [newLayout.logs, newLayout.backups]) await mkdir(folder, { recursive: true });
    const copiedFiles = copies.reduce((sum, copy) => sum + copy.copied, 0);
    progress.line(
      `Copied ${units.length} folders and ${storeDatabases.length} store databases into ${newLayout.root} (${copiedFiles} files written, all verified by sha256).`,
    );
    return {
      configFile: newLayout.configFile,
      sourceFormat: config.sourceFormat,
      targetFormat: config.targetFormat,
      report: config.changes,
      warnings: config.warnings,
      storeDatabases,
      storesLeftInPlace: databases.leftInPlace,
      copies,
      apps,
      ignored,
      durationMs: Math.round(performance.now() - started),
    };
  },
};

/** The config report for a dry run; a config the upgrade would refuse is told, not thrown, so the preview goes on. */
async function describeConfig(context: UpgradeContext): Promise<string[]> {
  let config: ConfigUpgrade;
  try {
    config = await transformConfig(context);
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    return [`cannot write the new config: ${error.message}${error.hint ? ` (next: ${error.hint})` : ''}`];
  }
  return [
    `write ${context.newLayout.configFile} (format ${config.targetFormat}) from the ${config.sourceFormat} config: ${summarizeConfigChanges(config.changes)}`,
    ...formatConfigChanges(config.changes).map((line) => `  ${line}`),
    ...config.warnings.map((warning) => `  warning: ${warning}`),
  ];
}

async function transformConfig(context: UpgradeContext): Promise<ConfigUpgrade> {
  const { file, source, document } = context.oldConfig;
  return upgradeConfig({
    source,
    document,
    file,
    targetFormat: getRelease(context.plan.targetRelease).configFormat as ConfigFormat,
    databaseUrl: context.plan.stagingUrl,
  });
}

async function copyPlan(
  context: UpgradeContext,
): Promise<{ units: CopyUnit[]; databases: StoreDatabases; ignored: string[] }> {
  const { oldLayout, newLayout } = context;
  const { tenants, ignored } = await listTenantFolders(oldLayout);
  return {
    units: homeCopyUnits(oldLayout, newLayout, tenants),
    databases: await findStoreDatabases(oldLayout, newLayout, tenants),
    ignored,
  };
}

async function copyUnits(context: UpgradeContext, units: readonly CopyUnit[]) {
  const totals = await Promise.all(
    units.map((unit) => readTree(unit.source, { hash: false, exclude: unit.exclude })),
  );
  const task = context.progress.task(
    'Copying home folders',
    totals.reduce((sum, tree) => sum + tree.files, 0),
    'files',
  );
  const copies = [];
  for (const unit of units) {
    const result = await mirrorFolder(unit.source, unit.target, {
      exclude: unit.exclude,
      onFile: () => task.advance(1),
    });
    copies.push({
      folder: unit.label,
      ...(unit.exclude.length > 0 ? { without: unit.exclude } : {}),
      ...result,
    });
    crashPoint('configure:copy');
  }
  task.done(`${units.length} folders verified`);
  return copies;
}
