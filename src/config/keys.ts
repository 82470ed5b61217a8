import type { ConfigKeySpec } from './key-spec.js';

/** The config format this release reads and a first start writes. */
export const CONFIG_FORMAT = '2.1';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const PASSWORD_HASHES = ['argon2id'] as const;

/**
 * Every key of `conf/tessera.toml`, in the order a first start writes them and README.md lists them. The
 * loader's validation and defaults (load.ts), the default file (default-file.ts), the README's table
 * (checked by test/config/readme-keys.test.ts) and the upgrade's reading of an old home's heartbeat all
 * come from here: a default or a bound is changed in this table alone.
 */
export const CONFIG_KEYS = {
  format: {
    type: 'format',
    default: CONFIG_FORMAT,
    since: '1.1.0',
    description: 'the config format; an older one (1.x, 2.0) is refused with a pointer to `tessera upgrade`',
  },
  'server.port': {
    type: 'integer',
    default: 9763,
    min: 1,
    max: 65_535,
    since: '1.1.0',
    description: 'HTTP port; the `PORT` environment variable overrides it',
    file: { write: 'value', comment: ['The PORT environment variable overrides this.'] },
  },
  'server.host': {
    type: 'string',
    default: '0.0.0.0',
    since: '2.0.0',
    description: 'listen address',
  },
  'server.public_url': {
    type: 'optional-string',
    since: '2.1.0',
    description:
      'the URL clients reach this server at (`https://id.example.com`), behind any proxy; OpenID Connect issuers are built on it. Unset: `http://` the listen address and port',
    file: { write: 'example', example: '"https://id.example.com"' },
  },
  'database.url': {
    type: 'string',
    default: 'sqlite:repository/database/tessera.db',
    since: '1.1.0',
    description:
      '`sqlite:PATH` (relative to the home), `postgres://user@host:port/db`, `mysql://user@host:port/db` (MariaDB too)',
    file: {
      write: 'value',
      comment: [
        'sqlite:PATH (relative to the home), postgres://user@host:port/db or mysql://user@host:port/db',
      ],
    },
  },
  'database.pool_size': {
    type: 'integer',
    default: 10,
    min: 1,
    max: 200,
    since: '2.0.0',
    description:
      'the most connections a node holds to a PostgreSQL or MySQL database (SQLite has one handle, no pool)',
  },
  'security.password_hash': {
    type: 'choice',
    default: 'argon2id',
    choices: PASSWORD_HASHES,
    since: '2.0.0',
    description: 'how new passwords are stored',
  },
  'logging.level': {
    type: 'choice',
    default: 'info',
    choices: LOG_LEVELS,
    since: '1.0.0',
    description:
      'the least severe level written (`silent`: none); `debug` adds a line for every successful request (see "Logs")',
  },
  'cluster.heartbeat_seconds': {
    type: 'integer',
    default: 10,
    min: 1,
    max: 3_600,
    unit: 'seconds',
    since: '2.0.0',
    description: 'node heartbeat period',
  },
  'cache.redis': {
    type: 'optional-string',
    since: '2.0.0',
    description: 'Redis URL for the shared cache',
    file: { write: 'example', example: '"redis://127.0.0.1:6379"' },
  },
  'deployment.hot_deploy': {
    type: 'boolean',
    default: true,
    since: '2.0.0',
    description: 'watch `webapps/` and `userstores/` folders for changes',
  },
  // Upper bounds: 16 TiB for sizes; an upload is held in memory while it is checked, so 1 GiB at most.
  'deployment.max_apps_per_tenant': {
    type: 'integer',
    default: 100,
    min: 1,
    max: 100_000,
    unit: 'apps',
    since: '2.0.0',
    description:
      'apps one tenant may have deployed (each tenant, the super tenant too, counts its own): see "Web applications"',
    file: {
      write: 'value',
      comment: [
        'Per tenant (the super tenant too): apps, their expanded size (MB) all together and each, one upload.',
      ],
    },
  },
  'deployment.max_tenant_mb': {
    type: 'integer',
    default: 2048,
    min: 1,
    max: 16_777_216,
    unit: 'MiB',
    since: '2.0.0',
    description: "the expanded size of all of one tenant's apps together",
  },
  'deployment.max_app_mb': {
    type: 'integer',
    default: 512,
    min: 1,
    max: 16_777_216,
    unit: 'MiB',
    atMost: 'deployment.max_tenant_mb',
    since: '2.0.0',
    description: 'the expanded size of one app',
  },
  'deployment.max_upload_mb': {
    type: 'integer',
    default: 64,
    min: 1,
    max: 1_024,
    unit: 'MiB',
    since: '2.0.0',
    description: 'the largest zip one upload through the API may send (it is held in memory while checked)',
  },
  'deployment.backup_retention_count': {
    type: 'integer',
    default: 5,
    min: 1,
    max: 10_000,
    unit: 'archives',
    since: '2.0.0',
    description: 'replaced and undeployed archives kept in `backups/` per app, newest first',
    file: {
      write: 'value',
      comment: [
        'Replaced and undeployed archives in backups/: the newest N per app, none older than N days (0: any age).',
      ],
    },
  },
  'deployment.backup_retention_days': {
    type: 'integer',
    default: 30,
    min: 0,
    max: 36_500,
    unit: 'days',
    since: '2.0.0',
    description:
      'replaced and undeployed archives older than this are removed from `backups/`; `0` keeps them whatever their age',
  },
  'deployment.keep_versions': {
    type: 'integer',
    default: 5,
    min: 1,
    max: 1_000,
    unit: 'versions',
    since: '2.1.0',
    description:
      'versions of each app kept in the database for rollback, newest first (the one serving is always kept)',
  },
  'registry.mounts': {
    type: 'mounts',
    since: '2.0.0',
    description:
      '`[[registry.mounts]]` tables of exactly `path` (a registry path) and `url` (a database URL): see "Registry"',
    file: {
      write: 'block',
      lines: [
        'Registry subtrees kept in another database; one [[registry.mounts]] table per mount:',
        '[[registry.mounts]]',
        'path = "/mounted/docs"',
        'url = "mysql://root@127.0.0.1:3306/regdb"',
      ],
    },
  },
  'userstores.allowed_hosts': {
    type: 'host-list',
    default: [],
    since: '2.0.0',
    description:
      'database hosts (`"db.internal"`, `"10.0.0.5:5432"`, `"[::1]"`) a tenant\'s admin may point a JDBC store at, compared by the addresses they resolve to; none by default (see "User stores")',
    file: { write: 'never' },
  },
  'userstores.connect_timeout_ms': {
    type: 'integer',
    default: 10_000,
    min: 100,
    max: 120_000,
    unit: 'ms',
    since: '2.0.0',
    description: "how long opening a JDBC store's database, or testing a store definition, may take",
    file: { write: 'never' },
  },
} satisfies Record<string, ConfigKeySpec>;

export type ConfigKeyName = keyof typeof CONFIG_KEYS;

/** The names of the table's keys of one type: `KeyNameOfType<'integer'>` is `'server.port' | ...`. */
export type KeyNameOfType<T extends ConfigKeySpec['type']> = {
  [K in ConfigKeyName]: (typeof CONFIG_KEYS)[K]['type'] extends T ? K : never;
}[ConfigKeyName];

/** Every row, in the table's order, with its name. */
export function configKeyRows(): [ConfigKeyName, ConfigKeySpec][] {
  return Object.entries(CONFIG_KEYS) as [ConfigKeyName, ConfigKeySpec][];
}
