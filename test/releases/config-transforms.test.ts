import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/keys.js';
import { parseConfig } from '../../src/config/load.js';
import { DEPLOYMENT_DEFAULTS } from '../../src/config/schema.js';
import { isTesseraError } from '../../src/errors.js';
import { release100 } from '../../src/releases/1.0.0/fixture.js';
import { release110 } from '../../src/releases/1.1.0/fixture.js';
import { release200 } from '../../src/releases/2.0.0/fixture.js';
import {
  CONFIG_HOPS,
  type ConfigChange,
  formatConfigChanges,
  hopsBetween,
  maskCredentials,
  summarizeConfigChanges,
  upgradeConfig,
} from '../../src/releases/config/index.js';

const PRODUCTION = 'postgres://tessera:prod-secret@db.example:5432/tessera';
const STAGING = 'postgres://tessera:stage-secret@db.example:5432/tessera_staging';
const FILE = '/srv/old/conf/tessera.toml';

const upgrade = (source: string, databaseUrl = STAGING) =>
  upgradeConfig({ source, file: FILE, targetFormat: '2.1', databaseUrl });

const SWITCH: ConfigChange = {
  kind: 'changed',
  hop: 'staging',
  from: 'database.url',
  to: 'database.url',
  before: '"postgres://tessera:***@db.example:5432/tessera"',
  value: '"postgres://tessera:***@db.example:5432/tessera_staging"',
  note: 'now the upgraded (staging) database; the old production database is retired at promote',
};

const HOP_2_0_DEFAULTS: ConfigChange[] = [
  { kind: 'defaulted', hop: '1.1 -> 2.0', key: 'database.pool_size', value: '10', note: 'new in 2.0' },
  {
    kind: 'defaulted',
    hop: '1.1 -> 2.0',
    key: 'cluster.heartbeat_seconds',
    value: '10',
    note: 'new in 2.0: nodes register and heartbeat in the database',
  },
  {
    kind: 'defaulted',
    hop: '1.1 -> 2.0',
    key: 'deployment.hot_deploy',
    value: 'true',
    note: 'new in 2.0; 1.x always deployed webapps while running',
  },
];

const HOP_2_1 = '2.0 -> 2.1';
const FORMAT_2_1: ConfigChange = {
  kind: 'changed',
  hop: HOP_2_1,
  from: 'format',
  to: 'format',
  before: '"2.0"',
  value: '"2.1"',
  note: 'the file is now in the 2.1 format',
};
const KEEP_VERSIONS_NOTE =
  'new in 2.1: versions of each app kept in the database for rollback (2.0 kept none there)';
const KEEP_VERSIONS_DEFAULT: ConfigChange = {
  kind: 'defaulted',
  hop: HOP_2_1,
  key: 'deployment.keep_versions',
  value: '5',
  note: KEEP_VERSIONS_NOTE,
};

/** The 2.0 -> 2.1 hop over a 2.0 config of these keys and values, in the file's order: all carried but `format`. */
function hop21(...entries: [key: string, value: string][]): ConfigChange[] {
  return [
    ...entries.map(
      ([key, value]): ConfigChange =>
        key === 'format' ? FORMAT_2_1 : { kind: 'carried', hop: HOP_2_1, key, value },
    ),
    KEEP_VERSIONS_DEFAULT,
  ];
}

const PRODUCTION_DISPLAYED = '"postgres://tessera:***@db.example:5432/tessera"';

const ARGON2_NOTE =
  '2.0 stores argon2id hashes; legacy SHA-256 hashes are still verified and re-hashed at the next login';

describe('config transforms', () => {
  it('turns the 1.0 fixture config into 2.1, hop by hop, every key reported', () => {
    const result = upgrade(release100.renderConfig(PRODUCTION));
    expect(result.sourceFormat).toBe('1.0');
    expect(result.warnings).toEqual([]);
    expect(result.changes).toEqual<ConfigChange[]>([
      { kind: 'renamed', hop: '1.0 -> 1.1', from: 'http.port', to: 'server.port', value: '9763' },
      {
        kind: 'renamed',
        hop: '1.0 -> 1.1',
        from: 'database.dsn',
        to: 'database.url',
        value: '"postgres://tessera:***@db.example:5432/tessera"',
      },
      {
        kind: 'renamed',
        hop: '1.0 -> 1.1',
        from: 'security.hash_algorithm',
        to: 'user_store.password_hash',
        value: '"SHA-256"',
      },
      { kind: 'carried', hop: '1.0 -> 1.1', key: 'logging.level', value: '"info"' },
      {
        kind: 'defaulted',
        hop: '1.0 -> 1.1',
        key: 'format',
        value: '"1.1"',
        note: '1.1 files name their format; 1.0 files had no format key',
      },
      { kind: 'carried', hop: '1.1 -> 2.0', key: 'server.port', value: '9763' },
      {
        kind: 'carried',
        hop: '1.1 -> 2.0',
        key: 'database.url',
        value: '"postgres://tessera:***@db.example:5432/tessera"',
      },
      {
        kind: 'changed',
        hop: '1.1 -> 2.0',
        from: 'user_store.password_hash',
        to: 'security.password_hash',
        before: '"SHA-256"',
        value: '"argon2id"',
        note: ARGON2_NOTE,
      },
      { kind: 'carried', hop: '1.1 -> 2.0', key: 'logging.level', value: '"info"' },
      {
        kind: 'changed',
        hop: '1.1 -> 2.0',
        from: 'format',
        to: 'format',
        before: '"1.1"',
        value: '"2.0"',
        note: 'the file is now in the 2.0 format',
      },
      {
        kind: 'defaulted',
        hop: '1.1 -> 2.0',
        key: 'server.host',
        value: '"0.0.0.0"',
        note: 'the 2.0 default (the old file set no host name)',
      },
      ...HOP_2_0_DEFAULTS,
      ...hop21(
        ['server.port', '9763'],
        ['database.url', PRODUCTION_DISPLAYED],
        ['security.password_hash', '"argon2id"'],
        ['logging.level', '"info"'],
        ['format', ''],
        ['server.host', '"0.0.0.0"'],
        ['database.pool_size', '10'],
        ['cluster.heartbeat_seconds', '10'],
        ['deployment.hot_deploy', 'true'],
      ),
      SWITCH,
    ]);
    expect(result.text).toBe(`# Tessera 2.1 configuration, written by tessera upgrade from the 1.0 config
# /srv/old/conf/tessera.toml.
# Every key renamed, changed, added or dropped is listed in the upgrade report (tessera upgrade report).
# Added by the upgrade: the file is now in the 2.1 format.
format = "2.1"

[server]
# The PORT environment variable overrides this.
# Was http.port in the 1.0 config.
port = 9763
# Added by the upgrade: the 2.0 default (the old file set no host name).
host = "0.0.0.0"
# public_url = "https://id.example.com"

[database]
# sqlite:PATH (relative to the home), postgres://user@host:port/db or mysql://user@host:port/db
# Was database.dsn in the 1.0 config.
# Changed by the upgrade: now the upgraded (staging) database; the old production database is retired at promote.
url = "${STAGING}"
# Added by the upgrade: new in 2.0.
pool_size = 10

[security]
# Was security.hash_algorithm in the 1.0 config.
# Changed by the upgrade: ${ARGON2_NOTE}.
password_hash = "argon2id"

[logging]
level = "info"

[cluster]
# Added by the upgrade: new in 2.0: nodes register and heartbeat in the database.
heartbeat_seconds = 10

[cache]
# redis = "redis://127.0.0.1:6379"

[deployment]
# Added by the upgrade: new in 2.0; 1.x always deployed webapps while running.
hot_deploy = true
# Added by the upgrade: ${KEEP_VERSIONS_NOTE}.
keep_versions = 5
`);
    expect(parseConfig(result.text)).toEqual({
      format: '2.1',
      server: { port: 9763, host: '0.0.0.0' },
      database: { url: STAGING, poolSize: 10 },
      security: { passwordHash: 'argon2id' },
      logging: { level: 'info' },
      cluster: { heartbeatSeconds: 10 },
      cache: { redis: undefined },
      deployment: { hotDeploy: true, ...DEPLOYMENT_DEFAULTS },
    });
  });

  it("turns the 1.1 fixture config into 2.1, keeping the operator's host name", () => {
    const result = upgrade(release110.renderConfig(PRODUCTION));
    expect(result.sourceFormat).toBe('1.1');
    expect(result.changes).toEqual<ConfigChange[]>([
      {
        kind: 'changed',
        hop: '1.1 -> 2.0',
        from: 'format',
        to: 'format',
        before: '"1.1"',
        value: '"2.0"',
        note: 'the file is now in the 2.0 format',
      },
      { kind: 'carried', hop: '1.1 -> 2.0', key: 'server.port', value: '9763' },
      {
        kind: 'renamed',
        hop: '1.1 -> 2.0',
        from: 'server.hostname',
        to: 'server.host',
        value: '"localhost"',
      },
      {
        kind: 'carried',
        hop: '1.1 -> 2.0',
        key: 'database.url',
        value: '"postgres://tessera:***@db.example:5432/tessera"',
      },
      {
        kind: 'changed',
        hop: '1.1 -> 2.0',
        from: 'user_store.password_hash',
        to: 'security.password_hash',
        before: '"SHA-256"',
        value: '"argon2id"',
        note: ARGON2_NOTE,
      },
      { kind: 'carried', hop: '1.1 -> 2.0', key: 'logging.level', value: '"info"' },
      ...HOP_2_0_DEFAULTS,
      ...hop21(
        ['format', ''],
        ['server.port', '9763'],
        ['server.host', '"localhost"'],
        ['database.url', PRODUCTION_DISPLAYED],
        ['security.password_hash', '"argon2id"'],
        ['logging.level', '"info"'],
        ['database.pool_size', '10'],
        ['cluster.heartbeat_seconds', '10'],
        ['deployment.hot_deploy', 'true'],
      ),
      SWITCH,
    ]);
    expect(result.text).toContain(
      '[server]\n# The PORT environment variable overrides this.\nport = 9763\n# Was server.hostname in the 1.1 config.\nhost = "localhost"\n',
    );
    const config = parseConfig(result.text);
    expect(config.server).toEqual({ port: 9763, host: 'localhost' });
    expect(config.database.url).toBe(STAGING);
  });

  it('reports a key whose value stays the same as kept, carried or renamed, never as changed', () => {
    const sqlite = 'sqlite:repository/database/tessera.db';
    // 1.1 already naming the 2.0 algorithm: the rule that would replace it has nothing to change.
    const source = release110
      .renderConfig(sqlite)
      .replace(/password_hash = "[^"]*"/, 'password_hash = "argon2id"');
    expect(source).toContain('password_hash = "argon2id"');
    const result = upgrade(source, sqlite);
    expect(result.changes.flatMap((c) => (c.kind === 'changed' ? [`${c.hop}: ${c.from}`] : []))).toEqual([
      '1.1 -> 2.0: format',
      '2.0 -> 2.1: format',
    ]);
    expect(result.changes).toContainEqual({
      kind: 'renamed',
      hop: '1.1 -> 2.0',
      from: 'user_store.password_hash',
      to: 'security.password_hash',
      value: '"argon2id"',
    });
    expect(result.changes.at(-1)).toEqual({
      kind: 'kept',
      hop: 'staging',
      key: 'database.url',
      value: `"${sqlite}"`,
      note: "the same text, read from the new home: the upgraded (staging) database; the old home's is retired at promote",
    });
    expect(formatConfigChanges(result.changes).at(-1)).toBe(
      `staging    kept      database.url = "${sqlite}" (the same text, read from the new home: the upgraded (staging) database; the old home's is retired at promote)`,
    );
    expect(summarizeConfigChanges(result.changes)).toBe(
      '2 renamed, 2 changed, 4 defaulted, 0 dropped, 11 carried, 1 kept',
    );
    expect(parseConfig(result.text).security.passwordHash).toBe('argon2id');
  });

  it('drops keys no release knew with a warning, never printing a value that may be secret', () => {
    const source = `${release110.renderConfig('sqlite:repository/database/tessera.db')}
[server.tls]
certificate_password = "hunter2-tls"

[custom]
api_token = "tok-123456"
retries = 3
note = "free text"
`;
    const result = upgrade(source, 'sqlite:repository/database/staging.db');
    const dropped = result.changes.filter((c) => c.kind === 'dropped');
    expect(dropped).toEqual([
      expect.objectContaining({
        from: 'server.tls.certificate_password',
        value: '(a string, not shown)',
        warning: true,
      }),
      expect.objectContaining({ from: 'custom.api_token', value: '(a string, not shown)', warning: true }),
      expect.objectContaining({ from: 'custom.retries', value: '3', warning: true }),
      expect.objectContaining({ from: 'custom.note', value: '(a string, not shown)', warning: true }),
    ]);
    expect(result.warnings).toHaveLength(4);
    expect(result.warnings[0]).toMatch(
      /^server\.tls\.certificate_password = \(a string, not shown\) was dropped \(1\.1 -> 2\.0\)/,
    );
    const printed = [
      JSON.stringify(result.changes),
      ...result.warnings,
      ...formatConfigChanges(result.changes),
    ].join('\n');
    for (const secret of ['hunter2-tls', 'tok-123456', 'free text']) expect(printed).not.toContain(secret);
    expect(result.text).not.toMatch(/tls|custom|retries/);
    expect(parseConfig(result.text).database.url).toBe('sqlite:repository/database/staging.db');
  });

  it('masks credentials in the report but writes them into the new config', () => {
    const withRedis = `${release200.renderConfig(PRODUCTION)}\n[cache]\nredis = "redis://:redis-pw@cache.example:6379/0"\n`;
    const result = upgrade(withRedis);
    expect(result.changes).toContainEqual({
      kind: 'carried',
      hop: HOP_2_1,
      key: 'cache.redis',
      value: '"redis://:***@cache.example:6379/0"',
    });
    const printed = [JSON.stringify(result.changes), ...formatConfigChanges(result.changes)].join('\n');
    for (const secret of ['redis-pw', 'prod-secret', 'stage-secret']) expect(printed).not.toContain(secret);
    const config = parseConfig(result.text);
    expect(config.cache.redis).toBe('redis://:redis-pw@cache.example:6379/0');
    expect(config.database.url).toBe(STAGING);
    expect(maskCredentials('mysql://root:pw@h/db?password=x&ssl=1')).toBe(
      'mysql://root:***@h/db?password=***&ssl=1',
    );
  });

  it('refuses a carried value the new release would not load, naming the old file', () => {
    const source = release110.renderConfig(PRODUCTION).replace('level = "info"', 'level = "verbose"');
    try {
      upgrade(source);
      expect.unreachable();
    } catch (error) {
      expect(isTesseraError(error, 'CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(/logging\.level must be one of/);
      expect((error as { hint?: string }).hint).toContain(FILE);
    }
  });

  it('refuses an unknown format and unparsable TOML without quoting the file', () => {
    expect(() => upgrade('format = "9.9"\n')).toThrow(/unknown config format "9\.9"/);
    expect(() => upgrade('[database]\ndsn = "postgres://u:leaked@h/db\n')).toThrow(/tessera\.toml:2/);
    try {
      upgrade('[database]\ndsn = "postgres://u:leaked@h/db\n');
    } catch (error) {
      expect((error as Error).message).not.toContain('leaked');
    }
  });

  it('turns a 2.0 config into 2.1: every key carried (mounts, hosts and quotas too), keep_versions added', () => {
    const mountUrl = 'mysql://reg:mount-secret@db.example:3306/regdb';
    const source = `${release200.renderConfig(PRODUCTION)}max_upload_mb = 32
backup_retention_days = 0

[cache]
redis = "redis://127.0.0.1:6379"

[[registry.mounts]]
path = "/mounted/docs"
url = "${mountUrl}"

[userstores]
allowed_hosts = ["db.internal", "10.0.0.5:5432"]
connect_timeout_ms = 2000
`;
    const result = upgrade(source);
    expect(result.sourceFormat).toBe('2.0');
    expect(result.warnings).toEqual([]);
    expect(result.changes).toEqual<ConfigChange[]>([
      ...hop21(
        ['format', ''],
        ['server.port', '9763'],
        ['server.host', '"0.0.0.0"'],
        ['database.url', PRODUCTION_DISPLAYED],
        ['database.pool_size', '10'],
        ['security.password_hash', '"argon2id"'],
        ['logging.level', '"info"'],
        ['cluster.heartbeat_seconds', '10'],
        ['deployment.hot_deploy', 'true'],
        ['deployment.max_upload_mb', '32'],
        ['deployment.backup_retention_days', '0'],
        ['cache.redis', '"redis://127.0.0.1:6379"'],
        ['registry.mounts', '[{ path = "/mounted/docs", url = "mysql://reg:***@db.example:3306/regdb" }]'],
        ['userstores.allowed_hosts', '["db.internal", "10.0.0.5:5432"]'],
        ['userstores.connect_timeout_ms', '2000'],
      ),
      SWITCH,
    ]);
    expect(JSON.stringify(result.changes)).not.toContain('mount-secret');
    const config = parseConfig(result.text);
    expect(config.format).toBe('2.1');
    expect(config.deployment).toEqual({
      ...DEPLOYMENT_DEFAULTS,
      hotDeploy: true,
      maxUploadMb: 32,
      backupRetentionDays: 0,
      keepVersions: 5,
    });
    expect(config.registry).toEqual({ mounts: [{ path: '/mounted/docs', url: mountUrl }] });
    expect(config.userstores).toEqual({
      allowedHosts: ['db.internal', '10.0.0.5:5432'],
      connectTimeoutMs: 2000,
    });
    expect(config.cache.redis).toBe('redis://127.0.0.1:6379');
    expect(config.database.url).toBe(STAGING);
  });

  it('accounts for every key of the 2.0 format in the 2.0 -> 2.1 rules, and for every 2.1 key after them', () => {
    const hop = CONFIG_HOPS.find((h) => h.from === '2.0');
    const written = new Set([
      ...Object.entries(hop?.keys ?? {}).flatMap(([key, rule]) =>
        rule.action === 'carry' ? [key] : rule.action === 'drop' ? [] : [rule.to],
      ),
      ...(hop?.defaults ?? []).map((fill) => fill.key),
    ]);
    // Every key of this release's table is written by the hop, but server.public_url, new and optional (left
    // unset); the only other new one is keep_versions.
    const leftUnset = 'server.public_url';
    expect([...written].sort()).toEqual(
      Object.keys(CONFIG_KEYS)
        .filter((key) => key !== leftUnset)
        .sort(),
    );
    expect(Object.keys(hop?.keys ?? {}).sort()).toEqual(
      Object.keys(CONFIG_KEYS)
        .filter((key) => key !== 'deployment.keep_versions' && key !== leftUnset)
        .sort(),
    );
  });

  it('has one rule table per hop, covering each format once, with no two rules writing one key', () => {
    expect(hopsBetween('1.0', '2.1').map((h) => `${h.from}->${h.to}`)).toEqual([
      '1.0->1.1',
      '1.1->2.0',
      '2.0->2.1',
    ]);
    expect(hopsBetween('2.0', '2.1').map((h) => `${h.from}->${h.to}`)).toEqual(['2.0->2.1']);
    expect(hopsBetween('2.1', '2.1')).toEqual([]);
    for (const hop of CONFIG_HOPS) {
      const targets = Object.entries(hop.keys).flatMap(([key, rule]) =>
        rule.action === 'carry' ? [key] : rule.action === 'drop' ? [] : [rule.to],
      );
      expect(new Set(targets).size, `${hop.from} -> ${hop.to}`).toBe(targets.length);
    }
  });
});
