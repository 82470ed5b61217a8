import { sql } from 'kysely';
import { findLiveNodes } from '../cluster/liveness.js';
import { readConfigFile } from '../config/config-format.js';
import { peekIntegerIn } from '../config/peek.js';
import { type Database, openDatabase } from '../db/connection.js';
import { TesseraError } from '../errors.js';
import { homeLayout } from '../home/layout.js';
import { inspectSchema } from '../releases/guard.js';
import { CURRENT_RELEASE, getRelease, upgradePath } from '../releases/matrix.js';
import { compareVersions } from '../releases/semver.js';
import { choosePath } from './path-choice.js';
import type { OldConfig, UpgradeOptions } from './types.js';
import type { UpgradePlan } from './upgrade-plan.js';

/**
 * Upgrade step 1 (docs/architecture.md, The upgrade): reads the old home's config and production database, finds the release it is at and
 * the path to the target. Reads only.
 */
export async function buildPlan(
  options: UpgradeOptions,
  config: OldConfig,
  production: Database<unknown>,
): Promise<UpgradePlan> {
  const state = await inspectSchema(production, '99.0.0');
  if (state.status === 'empty' || state.status === 'foreign') {
    throw new TesseraError(
      'BAD_USAGE',
      `The production database ${production.label} holds no Tessera schema (${state.status}).`,
      {
        hint: 'Point --from-home at the home of the Tessera installation to upgrade.',
      },
    );
  }
  if (state.status === 'retired') {
    throw new TesseraError(
      'SCHEMA_RETIRED',
      `The production database ${production.label} was already retired by an upgrade.`,
      {
        hint: 'Upgrade the home that was promoted, not the old one.',
      },
    );
  }
  if (state.status !== 'current' && state.status !== 'older') {
    throw new TesseraError(
      'SCHEMA_INCOMPLETE',
      `The production database ${production.label} is in state ${state.status}; it cannot be upgraded.`,
      {
        hint: 'Restore production from its backup, or finish the interrupted migration first.',
      },
    );
  }
  const sourceRelease = state.level;
  const targetRelease = options.to ?? CURRENT_RELEASE;
  getRelease(targetRelease);
  if (compareVersions(targetRelease, sourceRelease) <= 0) {
    throw new TesseraError(
      'RELEASE_UNKNOWN',
      `Production is at ${sourceRelease}; the target ${targetRelease} is not newer.`,
      {
        hint: `Nothing to upgrade. Pass --to with a release newer than ${sourceRelease}.`,
      },
    );
  }
  const hops = upgradePath(sourceRelease, targetRelease);
  const tables = [];
  for (const table of await production.dialect.introspect(production.db)) {
    const result = await sql<{
      n: number | string;
    }>`select count(*) as n from ${sql.table(table.name)}`.execute(production.db);
    tables.push({ name: table.name, rows: Number(result.rows[0]?.n ?? 0) });
  }
  // Which nodes run on production decides how it is held still (the preflight checks it again).
  const attached = await findLiveNodes({
    database: production,
    layout: homeLayout(options.fromHome),
    release: sourceRelease,
    periodMs: config.heartbeatSeconds * 1000,
  });
  return {
    sourceRelease,
    targetRelease,
    hops,
    kind: production.kind,
    oldConfigFormat: config.format,
    productionUrl: config.databaseUrl,
    stagingUrl: options.stagingUrl,
    tables,
    path: choosePath(attached),
  };
}

/** Reads the old home's config, once per run: a missing or unreadable file stops the upgrade here. */
export function readOldConfig(configFile: string): OldConfig {
  const contents = readConfigFile(configFile);
  return {
    ...contents,
    heartbeatSeconds: peekIntegerIn(contents.document, contents.source, 'cluster.heartbeat_seconds'),
  };
}

/** Opens the production database named by the old home's config. */
export async function openProduction(config: OldConfig, oldHome: string): Promise<Database<unknown>> {
  return openDatabase<unknown>(config.databaseUrl, oldHome);
}
