import type { ColumnType, Generated } from 'kysely';

/**
 * The tables of the current release (2.1.0) as the server's queries see them. Older levels exist only as
 * SQL scripts and frozen fixture generators; the server never queries them.
 * Timestamps are epoch milliseconds and flags are 0/1 so that every engine returns the same values.
 */
export interface SchemaHistoryTable {
  version: string;
  script: string;
  checksum: string;
  statements_total: number;
  statements_applied: number;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
}

export interface TenantsTable {
  id: number;
  domain: string;
  admin_username: string;
  active: number;
  created_at: number;
}

export interface UsersTable {
  id: Generated<number>;
  tenant_id: number;
  username: string;
  password_hash: string;
  password_salt: string;
  password_algorithm: string;
  is_system: number;
  created_at: number;
  /** When the password was last set (2.1.0); null for a password set before 2.1.0. */
  password_changed_at: number | null;
}

export interface RolesTable {
  id: Generated<number>;
  tenant_id: number;
  name: string;
  is_system: number;
  created_at: number;
}

export interface UserRolesTable {
  user_id: number;
  role_id: number;
}

export interface UserAttributesTable {
  user_id: number;
  name: string;
  value: string;
}

export interface StoreDomainsTable {
  id: Generated<number>;
  tenant_id: number;
  name: string;
}

export interface RegistryResourcesTable {
  id: Generated<number>;
  tenant_id: number;
  path: string;
  version: number;
  media_type: string;
  content: Uint8Array;
  created_by: string;
  created_at: number;
}

export interface RegistryPropertiesTable {
  resource_id: number;
  name: string;
  value: string;
}

export interface ClusterNodesTable {
  node_id: string;
  host: string;
  port: number;
  release_version: string;
  started_at: number;
  last_heartbeat: number;
  /** 2.1.0: the node's report of the apps it serves (JSON, `webapps/node-report.ts`); null until it reported. */
  apps_status: ColumnType<string | null, string | undefined, string>;
}

export interface AuditLogTable {
  id: Generated<number>;
  tenant_id: number;
  actor: string;
  action: string;
  target: string;
  detail: string | null;
  created_at: number;
}

/** One stored version of an app: a zip, its bytes in `webapp_version_chunks` (2.1.0). */
export interface WebappVersionsTable {
  tenant_id: number;
  name: string;
  version: number;
  /** SHA-256 of the zip, hex: every node checks the bytes it assembled against it before running them. */
  checksum: string;
  size_bytes: number;
  /** How it arrived: `upload` (the API), `zip` or `folder` (dropped into a node's webapps/). */
  origin: string;
  deployed_by: string;
  deployed_at: number;
  /** Set when the version did not start on the node that deployed it; it was then never made current. */
  failure: string | null;
  /** When its bytes were removed (past `deployment.keep_versions`); the row stays, so its checksum is known. */
  pruned_at: number | null;
}

/** A version's zip in pieces of at most 1 MiB: MariaDB's default max_allowed_packet is 16 MiB. */
export interface WebappVersionChunksTable {
  tenant_id: number;
  name: string;
  version: number;
  seq: number;
  bytes: Uint8Array;
}

/** A deployed app and the version every node serves; an undeployed app has no row (its versions' rows stay, their zips pruned). */
export interface WebappsTable {
  tenant_id: number;
  name: string;
  current_version: number;
  updated_by: string;
  updated_at: number;
}

/** A tenant's setting by name (lockout, password policy, ...), its value as JSON text (2.1.0). */
export interface TenantSettingsTable {
  tenant_id: number;
  name: string;
  value: string;
  updated_by: string;
  updated_at: number;
}

/**
 * Failed logins of one subject, counted across every node (2.1.0): `kind` `account` (subject
 * `<tenant id>/<STORE>/<name>`) or `address` (the client's IP). Past a threshold within the window the
 * subject is locked until `locked_until`, for longer with each of its `lockouts`.
 */
export interface LoginFailuresTable {
  kind: string;
  subject: string;
  tenant_id: number | null;
  failures: number;
  window_started_at: number;
  lockouts: number;
  locked_until: number | null;
  last_failure_at: number;
}

/**
 * A user signed in to a tenant's apps (2.1.0, README "Signing in to apps"): the session cookie's token is
 * kept as its SHA-256 only. `roles` is the JSON array of the roles the app is told, refreshed whenever
 * `checked_at` is older than the recheck period; times are milliseconds since the epoch.
 */
export interface AppSessionsTable {
  id: string;
  token_hash: string;
  tenant_id: number;
  store: string;
  username: string;
  roles: string;
  created_at: number;
  last_used_at: number;
  checked_at: number;
  expires_at: number;
  address: string;
  user_agent: string;
}

/**
 * One account's TOTP authenticator (2.1.0): `account` is `<STORE>/<lower-cased name>` in the tenant, as the
 * lockout counts it. `secret` is sealed (identity/totp/secret-box.ts); `confirmed_at` null while enrolment
 * waits for a first code; `last_step` the newest time step whose code was used (replay protection).
 */
export interface TotpAuthenticatorsTable {
  tenant_id: number;
  account: string;
  secret: string;
  confirmed_at: number | null;
  last_step: number | null;
  created_at: number;
}

/** An unused recovery code of an authenticator, by its SHA-256 (hex); used codes are deleted (2.1.0). */
export interface TotpRecoveryCodesTable {
  tenant_id: number;
  account: string;
  digest: string;
}

/** A tenant's OpenID Connect client (src/identity/oidc/clients.ts): metadata JSON without its secret. */
export interface OidcClientsTable {
  tenant_id: number;
  client_id: string;
  metadata: string;
  /** SHA-256 (hex) of a confidential client's generated secret; null for a public client. */
  secret_hash: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

/** A tenant's OpenID Connect keys (src/identity/oidc/keys.ts): `sig` (a JWK pair) or `cookie` (a secret). */
export interface OidcKeysTable {
  tenant_id: number;
  kid: string;
  purpose: string;
  /** The private JWK (JSON), or the cookie secret: never leaves the server. */
  private_material: string;
  public_jwk: string | null;
  created_at: number;
  /** When a rotated-out key leaves the JWKS (epoch ms); null while it is the key that signs. */
  retires_at: number | null;
}

/** oidc-provider's stored models (src/identity/oidc/adapter.ts), one row per model instance. */
export interface OidcPayloadsTable {
  tenant_id: number;
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface Schema {
  tessera_schema_history: SchemaHistoryTable;
  tenants: TenantsTable;
  users: UsersTable;
  roles: RolesTable;
  user_roles: UserRolesTable;
  user_attributes: UserAttributesTable;
  store_domains: StoreDomainsTable;
  registry_resources: RegistryResourcesTable;
  registry_properties: RegistryPropertiesTable;
  cluster_nodes: ClusterNodesTable;
  audit_log: AuditLogTable;
  webapp_versions: WebappVersionsTable;
  webapp_version_chunks: WebappVersionChunksTable;
  webapps: WebappsTable;
  tenant_settings: TenantSettingsTable;
  login_failures: LoginFailuresTable;
  app_sessions: AppSessionsTable;
  totp_authenticators: TotpAuthenticatorsTable;
  totp_recovery_codes: TotpRecoveryCodesTable;
  oidc_clients: OidcClientsTable;
  oidc_keys: OidcKeysTable;
  oidc_payloads: OidcPayloadsTable;
}
