/** The `conf/tessera.toml` of release 2.0.0, after validation and defaults. */
export interface TesseraConfig {
  format: '2.0';
  server: { port: number; host: string };
  database: { url: string; poolSize: number };
  security: { passwordHash: 'argon2id' };
  logging: { level: LogLevel };
  cluster: { heartbeatSeconds: number };
  cache: { redis: string | undefined };
  deployment: DeploymentConfig;
  /** Present when the file has a `[registry]` section (or `[[registry.mounts]]`). */
  registry?: { mounts: { path: string; url: string }[] };
  /** Present when the file has a `[userstores]` section; see `allowedStoreHosts` and `storeConnectTimeoutMs`. */
  userstores?: { allowedHosts: string[]; connectTimeoutMs: number };
}

/** `[deployment]`: hot deploy, and the per-tenant quotas on apps and on the archives kept in backups/. */
export interface DeploymentConfig {
  hotDeploy: boolean;
  maxAppsPerTenant: number;
  /** The expanded size of all of one tenant's apps together. */
  maxTenantMb: number;
  /** The expanded size of one app. */
  maxAppMb: number;
  /** The body of one upload through the API (the zip as sent). */
  maxUploadMb: number;
  /** Replaced and undeployed archives kept per app in backups/, newest first. */
  backupRetentionCount: number;
  /** Replaced and undeployed archives older than this are removed; 0 keeps them whatever their age. */
  backupRetentionDays: number;
}

export const DEPLOYMENT_DEFAULTS: Readonly<Omit<DeploymentConfig, 'hotDeploy'>> = Object.freeze({
  maxAppsPerTenant: 100,
  maxTenantMb: 2048,
  maxAppMb: 512,
  maxUploadMb: 64,
  backupRetentionCount: 5,
  backupRetentionDays: 30,
});

/** How long opening a user store's database (or probing it) may take: `userstores.connect_timeout_ms`. */
export const DEFAULT_STORE_CONNECT_TIMEOUT_MS = 10_000;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const CONFIG_FORMAT = '2.0';
export const DEFAULT_PORT = 9763;
export const DEFAULT_DATABASE_URL = 'sqlite:repository/database/tessera.db';

/**
 * What a first start writes: every key with its default, and a word on each; `tessera init --db` names its
 * own database instead of the embedded one.
 */
export function defaultConfigText(databaseUrl = DEFAULT_DATABASE_URL): string {
  return `# Tessera ${CONFIG_FORMAT} configuration. Keys and defaults: see README.md ("Configuration").
format = "${CONFIG_FORMAT}"

[server]
# The PORT environment variable overrides this.
port = ${DEFAULT_PORT}
host = "0.0.0.0"

[database]
# sqlite:PATH (relative to the home), postgres://user@host:port/db or mysql://user@host:port/db
url = ${tomlString(databaseUrl)}
pool_size = 10

[security]
password_hash = "argon2id"

[logging]
level = "info"

[cluster]
heartbeat_seconds = 10

[cache]
# redis = "redis://127.0.0.1:6379"

[deployment]
hot_deploy = true
# Per tenant (the super tenant too): apps, their expanded size (MB) all together and each, one upload.
max_apps_per_tenant = 100
max_tenant_mb = 2048
max_app_mb = 512
max_upload_mb = 64
# Replaced and undeployed archives in backups/: the newest N per app, none older than N days (0: any age).
backup_retention_count = 5
backup_retention_days = 30

# Registry subtrees kept in another database; one [[registry.mounts]] table per mount:
# [[registry.mounts]]
# path = "/mounted/docs"
# url = "mysql://root@127.0.0.1:3306/regdb"
`;
}

/**
 * A TOML basic string: JSON's escapes (\\ \" \n \uXXXX ...) are all valid TOML ones; DEL, which JSON
 * leaves as is and TOML refuses raw, is escaped too.
 */
function tomlString(value: string): string {
  return JSON.stringify(value).replaceAll('\u007f', '\\u007f');
}
