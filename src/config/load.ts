import { existsSync, readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { parseDatabaseUrl } from '../db/url.js';
import { TesseraError } from '../errors.js';
import { normaliseRegistryPath } from '../registry/paths.js';
import { locateKey } from './locate.js';
import {
  CONFIG_FORMAT,
  DEFAULT_DATABASE_URL,
  DEFAULT_PORT,
  DEFAULT_STORE_CONNECT_TIMEOUT_MS,
  DEPLOYMENT_DEFAULTS,
  type DeploymentConfig,
  LOG_LEVELS,
  type LogLevel,
  type TesseraConfig,
} from './schema.js';
import { tomlSyntaxRefusal } from './toml-syntax.js';

type Table = Record<string, unknown>;

/** Where a problem is: the file and, when known, the line. */
class Problems {
  readonly messages: string[] = [];
  constructor(
    private readonly file: string,
    private readonly source: string,
  ) {}

  add(keyPath: readonly string[], message: string): void {
    const line = locateKey(this.source, keyPath);
    this.messages.push(`${this.file}${line ? `:${line}` : ''}: ${keyPath.join('.')} ${message}`);
  }

  /** A problem whose line was found another way (entries of an array of tables). */
  addAt(line: number | undefined, label: string, message: string): void {
    this.messages.push(`${this.file}${line ? `:${line}` : ''}: ${label} ${message}`);
  }
}

const KNOWN_KEYS: Record<string, readonly string[]> = {
  server: ['port', 'host'],
  database: ['url', 'pool_size'],
  security: ['password_hash'],
  logging: ['level'],
  cluster: ['heartbeat_seconds'],
  cache: ['redis'],
  deployment: [
    'hot_deploy',
    'max_apps_per_tenant',
    'max_tenant_mb',
    'max_app_mb',
    'max_upload_mb',
    'backup_retention_count',
    'backup_retention_days',
  ],
  registry: ['mounts'],
  userstores: ['allowed_hosts', 'connect_timeout_ms'],
};
const MOUNT_KEYS = ['path', 'url'];

export function loadConfigFile(file: string): TesseraConfig {
  if (!existsSync(file)) {
    throw new TesseraError('CONFIG_INVALID', `${file} does not exist.`, {
      hint: 'Run tessera start on an empty home to create it.',
    });
  }
  return parseConfig(readFileSync(file, 'utf8'), file);
}

/** Parses and validates a 2.0 config, listing every problem with its line rather than stopping at the first. */
export function parseConfig(source: string, file = 'tessera.toml'): TesseraConfig {
  let raw: Table;
  try {
    raw = parse(source) as Table;
  } catch (error) {
    if (error instanceof TomlError) throw tomlSyntaxRefusal(file, error);
    throw error;
  }
  const problems = new Problems(file, source);
  if (raw.format === undefined || raw.format === '1.1') {
    const release = raw.format === undefined ? '1.0' : '1.1';
    throw new TesseraError(
      'CONFIG_INVALID',
      `${file} is in the Tessera ${release} format; this is Tessera ${CONFIG_FORMAT}.`,
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
  const section = (name: string): Table => (isTable(raw[name]) ? (raw[name] as Table) : {});
  const read = reader(problems);

  const config: TesseraConfig = {
    format: CONFIG_FORMAT,
    server: {
      port: read.integer(section('server'), ['server', 'port'], DEFAULT_PORT, 1, 65_535),
      host: read.string(section('server'), ['server', 'host'], '0.0.0.0'),
    },
    database: {
      url: read.string(section('database'), ['database', 'url'], DEFAULT_DATABASE_URL),
      poolSize: read.integer(section('database'), ['database', 'pool_size'], 10, 1, 200),
    },
    security: {
      passwordHash: read.choice(section('security'), ['security', 'password_hash'], 'argon2id', [
        'argon2id',
      ] as const),
    },
    logging: { level: read.choice(section('logging'), ['logging', 'level'], 'info', LOG_LEVELS) as LogLevel },
    cluster: {
      heartbeatSeconds: read.integer(section('cluster'), ['cluster', 'heartbeat_seconds'], 10, 1, 3_600),
    },
    cache: { redis: read.optionalString(section('cache'), ['cache', 'redis']) },
    deployment: readDeployment(section('deployment'), read, problems),
    ...(raw.registry === undefined
      ? {}
      : { registry: { mounts: readMounts(section('registry'), source, problems) } }),
    ...(raw.userstores === undefined
      ? {}
      : {
          userstores: {
            allowedHosts: readHostList(section('userstores'), ['userstores', 'allowed_hosts'], problems),
            connectTimeoutMs: read.integer(
              section('userstores'),
              ['userstores', 'connect_timeout_ms'],
              DEFAULT_STORE_CONNECT_TIMEOUT_MS,
              100,
              120_000,
            ),
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
function readDeployment(table: Table, read: ReturnType<typeof reader>, problems: Problems): DeploymentConfig {
  const key = (name: string) => ['deployment', name];
  const d = DEPLOYMENT_DEFAULTS;
  // Upper bounds: 16 TiB for sizes; an upload is held in memory while it is checked, so 1 GiB at most.
  const config: DeploymentConfig = {
    hotDeploy: read.boolean(table, key('hot_deploy'), true),
    maxAppsPerTenant: read.integer(table, key('max_apps_per_tenant'), d.maxAppsPerTenant, 1, 100_000),
    maxTenantMb: read.integer(table, key('max_tenant_mb'), d.maxTenantMb, 1, 16_777_216),
    maxAppMb: read.integer(table, key('max_app_mb'), d.maxAppMb, 1, 16_777_216),
    maxUploadMb: read.integer(table, key('max_upload_mb'), d.maxUploadMb, 1, 1_024),
    backupRetentionCount: read.integer(
      table,
      key('backup_retention_count'),
      d.backupRetentionCount,
      1,
      10_000,
    ),
    backupRetentionDays: read.integer(table, key('backup_retention_days'), d.backupRetentionDays, 0, 36_500),
  };
  if (config.maxAppMb > config.maxTenantMb)
    problems.add(
      key('max_app_mb'),
      `(${config.maxAppMb}) must not exceed deployment.max_tenant_mb (${config.maxTenantMb})`,
    );
  return config;
}

/** `userstores.allowed_hosts`: database hosts, each `host` or `host:port` (an IPv6 address in brackets). */
function readHostList(table: Table, keyPath: string[], problems: Problems): string[] {
  const value = table[keyPath.at(-1) as string];
  if (value === undefined) return [];
  const hosts = Array.isArray(value) ? value : [];
  const valid = hosts.every(
    (h) => typeof h === 'string' && /^(\[[0-9a-fA-F:.]+\]|[^\s:/@[\]]+)(:\d{1,5})?$/.test(h),
  );
  if (!Array.isArray(value) || !valid) {
    problems.add(keyPath, 'must be an array of host names or addresses, each optionally with :port');
    return [];
  }
  return hosts as string[];
}

/** `[[registry.mounts]]`: each entry exactly `path` (a registry path) and `url` (a database URL), paths unique. */
function readMounts(registry: Table, source: string, problems: Problems): { path: string; url: string }[] {
  const value = registry.mounts;
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(['registry', 'mounts'], 'must be an array of tables ([[registry.mounts]])');
    return [];
  }
  const mounts: { path: string; url: string }[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of value.entries()) {
    const label = `registry.mounts[${index + 1}]`;
    const at = (key?: string) => locateMountKey(source, index, key);
    if (!isTable(entry)) {
      problems.addAt(at(), label, 'must be a table with path and url');
      continue;
    }
    for (const key of Object.keys(entry))
      if (!MOUNT_KEYS.includes(key)) problems.addAt(at(key), `${label}.${key}`, 'is not a known key');
    let ok = true;
    let mountPath = '';
    if (typeof entry.path !== 'string' || entry.path === '') {
      problems.addAt(at('path'), `${label}.path`, 'must be a non-empty string');
      ok = false;
    } else {
      try {
        mountPath = normaliseRegistryPath(entry.path);
        if (seen.has(mountPath)) {
          problems.addAt(at('path'), `${label}.path`, `mounts ${mountPath} a second time`);
          ok = false;
        }
        seen.add(mountPath);
      } catch (error) {
        problems.addAt(at('path'), `${label}.path`, `is not a registry path: ${(error as Error).message}`);
        ok = false;
      }
    }
    if (typeof entry.url !== 'string' || entry.url === '') {
      problems.addAt(at('url'), `${label}.url`, 'must be a non-empty string');
      ok = false;
    } else {
      try {
        parseDatabaseUrl(entry.url, '.');
      } catch (error) {
        problems.addAt(at('url'), `${label}.url`, `is not a database URL: ${(error as Error).message}`);
        ok = false;
      }
    }
    if (ok) mounts.push({ path: mountPath, url: entry.url as string });
  }
  return mounts;
}

/** The line of the `index`-th `[[registry.mounts]]` header, or of `key` inside it; else of `mounts =`. */
function locateMountKey(source: string, index: number, key?: string): number | undefined {
  const lines = source.split(/\r?\n/);
  let count = -1;
  let header: number | undefined;
  for (const [n, raw] of lines.entries()) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      if (header !== undefined) break;
      if (/^\[\[\s*registry\.mounts\s*\]\]/.test(line) && ++count === index) header = n + 1;
      continue;
    }
    if (header !== undefined && key && new RegExp(`^"?${key}"?\\s*=`).test(line)) return n + 1;
  }
  return header ?? locateKey(source, ['registry', 'mounts']);
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function reader(problems: Problems) {
  return {
    integer(table: Table, keyPath: string[], fallback: number, min: number, max: number): number {
      const value = table[keyPath.at(-1) as string];
      if (value === undefined) return fallback;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        problems.add(keyPath, `must be a whole number from ${min} to ${max}`);
        return fallback;
      }
      return value;
    },
    string(table: Table, keyPath: string[], fallback: string): string {
      const value = table[keyPath.at(-1) as string];
      if (value === undefined) return fallback;
      if (typeof value !== 'string' || value.length === 0) {
        problems.add(keyPath, 'must be a non-empty string');
        return fallback;
      }
      return value;
    },
    optionalString(table: Table, keyPath: string[]): string | undefined {
      const value = table[keyPath.at(-1) as string];
      if (value === undefined || value === '') return undefined;
      if (typeof value !== 'string') {
        problems.add(keyPath, 'must be a string');
        return undefined;
      }
      return value;
    },
    boolean(table: Table, keyPath: string[], fallback: boolean): boolean {
      const value = table[keyPath.at(-1) as string];
      if (value === undefined) return fallback;
      if (typeof value !== 'boolean') {
        problems.add(keyPath, 'must be true or false');
        return fallback;
      }
      return value;
    },
    choice<T extends string>(table: Table, keyPath: string[], fallback: T, choices: readonly T[]): T {
      const value = table[keyPath.at(-1) as string];
      if (value === undefined) return fallback;
      if (typeof value !== 'string' || !choices.includes(value as T)) {
        problems.add(keyPath, `must be one of ${choices.map((c) => `"${c}"`).join(', ')}`);
        return fallback;
      }
      return value as T;
    },
  };
}
