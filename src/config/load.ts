import { existsSync, readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { TesseraError } from '../errors.js';
import { isConfigFormat } from './config-format.js';
import { splitKeyName } from './key-spec.js';
import { CONFIG_FORMAT, CONFIG_KEYS } from './keys.js';
import { readMounts } from './mounts.js';
import { isTable, Problems, type Table } from './problems.js';
import { keyReader } from './read-keys.js';
import type { DeploymentConfig, TesseraConfig } from './schema.js';
import { tomlSyntaxRefusal } from './toml-syntax.js';

/** The known keys of each section, from the key table (`format` is the one top-level key). */
const KNOWN_KEYS: Record<string, string[]> = {};
for (const name of Object.keys(CONFIG_KEYS)) {
  const { section, key } = splitKeyName(name);
  if (section !== '') KNOWN_KEYS[section] = [...(KNOWN_KEYS[section] ?? []), key];
}

export function loadConfigFile(file: string): TesseraConfig {
  if (!existsSync(file)) {
    throw new TesseraError('CONFIG_INVALID', `${file} does not exist.`, {
      hint: 'Run tessera start on an empty home to create it.',
    });
  }
  return parseConfig(readFileSync(file, 'utf8'), file);
}

/** Parses and validates a config of the current format, listing every problem with its line rather than stopping at the first. */
export function parseConfig(source: string, file = 'tessera.toml'): TesseraConfig {
  let raw: Table;
  try {
    raw = parse(source) as Table;
  } catch (error) {
    if (error instanceof TomlError) throw tomlSyntaxRefusal(file, error);
    throw error;
  }
  const problems = new Problems(file, source);
  // A release reads its own format only (1.0 had no format key): an older file is turned into this one by
  // the upgrade's rules for every key between them, never read as it is with the new keys left to defaults.
  const format = raw.format ?? '1.0';
  if (format !== CONFIG_FORMAT && isConfigFormat(format)) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${file} is in the Tessera ${format} format; this release reads the ${CONFIG_FORMAT} format.`,
      {
        hint: 'Upgrade the home with tessera upgrade, which rewrites the config; never copy it by hand.',
      },
    );
  }
  if (raw.format !== CONFIG_FORMAT) problems.add(['format'], `must be "${CONFIG_FORMAT}"`);
  for (const [section, value] of Object.entries(raw)) {
    if (section === 'format') continue;
    const known = KNOWN_KEYS[section];
    if (!known) {
      problems.add([section], 'is not a known section');
      continue;
    }
    if (!isTable(value)) {
      problems.add([section], 'must be a table');
      continue;
    }
    for (const key of Object.keys(value))
      if (!known.includes(key)) problems.add([section, key], 'is not a known key');
  }
  const read = keyReader(raw, problems);

  const config: TesseraConfig = {
    format: CONFIG_FORMAT,
    server: {
      port: read.integer('server.port'),
      host: read.string('server.host'),
      publicUrl: readPublicUrl(read.optionalString('server.public_url'), problems),
    },
    database: { url: read.string('database.url'), poolSize: read.integer('database.pool_size') },
    security: { passwordHash: read.choice('security.password_hash') },
    logging: { level: read.choice('logging.level') },
    cluster: { heartbeatSeconds: read.integer('cluster.heartbeat_seconds') },
    cache: { redis: read.optionalString('cache.redis') },
    deployment: readDeployment(read),
    ...(raw.registry === undefined
      ? {}
      : { registry: { mounts: readMounts(isTable(raw.registry) ? raw.registry : {}, source, problems) } }),
    ...(raw.userstores === undefined
      ? {}
      : {
          userstores: {
            allowedHosts: read.hostList('userstores.allowed_hosts'),
            connectTimeoutMs: read.integer('userstores.connect_timeout_ms'),
          },
        }),
  };
  if (problems.messages.length > 0) {
    throw new TesseraError('CONFIG_INVALID', `Invalid configuration:\n  ${problems.messages.join('\n  ')}`, {
      hint: `Fix ${file} (README.md, "Configuration", lists every key).`,
    });
  }
  return config;
}

/** `[deployment]`: quotas are whole numbers; one app may not be allowed more than its whole tenant. */
function readDeployment(read: ReturnType<typeof keyReader>): DeploymentConfig {
  const config: DeploymentConfig = {
    hotDeploy: read.boolean('deployment.hot_deploy'),
    maxAppsPerTenant: read.integer('deployment.max_apps_per_tenant'),
    maxTenantMb: read.integer('deployment.max_tenant_mb'),
    maxAppMb: read.integer('deployment.max_app_mb'),
    maxUploadMb: read.integer('deployment.max_upload_mb'),
    backupRetentionCount: read.integer('deployment.backup_retention_count'),
    backupRetentionDays: read.integer('deployment.backup_retention_days'),
    keepVersions: read.integer('deployment.keep_versions'),
  };
  read.checkLimits('deployment');
  return config;
}

/**
 * `server.public_url`: an absolute http(s) URL with no query or fragment, kept without its trailing slash so
 * that paths join onto it. It is what OpenID Connect issuers are built on, so it comes from here and never
 * from a request's Host header.
 */
function readPublicUrl(value: string | undefined, problems: Problems): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.add(['server', 'public_url'], 'must be an absolute URL such as "https://id.example.com"');
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username) {
    problems.add(['server', 'public_url'], 'must be an http(s) URL without credentials, query or fragment');
    return undefined;
  }
  return url.href.replace(/\/+$/, '');
}
