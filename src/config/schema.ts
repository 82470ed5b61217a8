import { renderDefaultConfig } from './default-file.js';
import { CONFIG_FORMAT, CONFIG_KEYS, LOG_LEVELS, type LogLevel } from './keys.js';

export { CONFIG_FORMAT, LOG_LEVELS, type LogLevel };

/** The `conf/tessera.toml` of release 2.1.0, after validation and defaults. */
export interface TesseraConfig {
  format: '2.1';
  server: {
    port: number;
    host: string;
    /** `server.public_url` without a trailing slash: where clients reach the server (OpenID Connect issuers). */
    publicUrl: string | undefined;
  };
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
  /** Versions of each app kept in the database for rollback, newest first; the current one always is. */
  keepVersions: number;
}

/* The defaults other rooms name, read from the key table (keys.ts), where each is written once. */

export const DEPLOYMENT_DEFAULTS: Readonly<Omit<DeploymentConfig, 'hotDeploy'>> = Object.freeze({
  maxAppsPerTenant: CONFIG_KEYS['deployment.max_apps_per_tenant'].default,
  maxTenantMb: CONFIG_KEYS['deployment.max_tenant_mb'].default,
  maxAppMb: CONFIG_KEYS['deployment.max_app_mb'].default,
  maxUploadMb: CONFIG_KEYS['deployment.max_upload_mb'].default,
  backupRetentionCount: CONFIG_KEYS['deployment.backup_retention_count'].default,
  backupRetentionDays: CONFIG_KEYS['deployment.backup_retention_days'].default,
  keepVersions: CONFIG_KEYS['deployment.keep_versions'].default,
});

/** How long opening a user store's database (or probing it) may take: `userstores.connect_timeout_ms`. */
export const DEFAULT_STORE_CONNECT_TIMEOUT_MS = CONFIG_KEYS['userstores.connect_timeout_ms'].default;

export const DEFAULT_PORT = CONFIG_KEYS['server.port'].default;
export const DEFAULT_DATABASE_URL = CONFIG_KEYS['database.url'].default;

/**
 * What a first start writes: every key with its default, and a word on each; `tessera init --db` names its
 * own database instead of the embedded one.
 */
export function defaultConfigText(databaseUrl = DEFAULT_DATABASE_URL): string {
  return renderDefaultConfig({ 'database.url': databaseUrl });
}
