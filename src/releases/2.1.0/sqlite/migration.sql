-- Tessera 2.1.0: applications stored in the database as numbered versions, so that every node serves them;
-- per-tenant settings, failed logins counted for lockouts, when each password was set.
CREATE TABLE webapp_versions (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name VARCHAR(100) NOT NULL,
  version INTEGER NOT NULL,
  checksum CHAR(64) NOT NULL,
  size_bytes BIGINT NOT NULL,
  origin VARCHAR(16) NOT NULL,
  deployed_by VARCHAR(255) NOT NULL,
  deployed_at BIGINT NOT NULL,
  failure TEXT,
  pruned_at BIGINT,
  PRIMARY KEY (tenant_id, name, version)
);

CREATE TABLE webapp_version_chunks (
  tenant_id INTEGER NOT NULL,
  name VARCHAR(100) NOT NULL,
  version INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  PRIMARY KEY (tenant_id, name, version, seq),
  FOREIGN KEY (tenant_id, name, version) REFERENCES webapp_versions (tenant_id, name, version) ON DELETE CASCADE
);

CREATE TABLE webapps (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name VARCHAR(100) NOT NULL,
  current_version INTEGER NOT NULL,
  updated_by VARCHAR(255) NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE tenant_settings (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name VARCHAR(100) NOT NULL,
  value TEXT NOT NULL,
  updated_by VARCHAR(255) NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE login_failures (
  kind VARCHAR(16) NOT NULL,
  subject VARCHAR(512) NOT NULL,
  tenant_id INTEGER,
  failures INTEGER NOT NULL,
  window_started_at BIGINT NOT NULL,
  lockouts INTEGER NOT NULL,
  locked_until BIGINT,
  last_failure_at BIGINT NOT NULL,
  PRIMARY KEY (kind, subject)
);
CREATE INDEX login_failures_tenant_idx ON login_failures (tenant_id, locked_until);

-- What each node serves of the apps, reported with its heartbeats (every node serves every app).
ALTER TABLE cluster_nodes ADD COLUMN apps_status TEXT;

ALTER TABLE users ADD COLUMN password_changed_at BIGINT;

-- Sign-in for apps (issue 14): app sessions behind the session cookie, kept in the database so that every
-- node of a cluster knows them. Only the SHA-256 of each token is stored.
CREATE TABLE app_sessions (
  id VARCHAR(32) NOT NULL PRIMARY KEY,
  token_hash CHAR(64) NOT NULL,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  store VARCHAR(64) NOT NULL,
  username VARCHAR(255) NOT NULL,
  roles TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  checked_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  address VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL
);
CREATE UNIQUE INDEX app_sessions_token_idx ON app_sessions (token_hash);
CREATE INDEX app_sessions_user_idx ON app_sessions (tenant_id, store, username);
CREATE INDEX app_sessions_expiry_idx ON app_sessions (expires_at);

-- TOTP second factor (issue 14): one authenticator per account (`<STORE>/<lower-cased name>`, as the
-- lockout counts it), its secret sealed with the home's conf/secrets.key; recovery codes by SHA-256.
CREATE TABLE totp_authenticators (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  account VARCHAR(400) NOT NULL,
  secret VARCHAR(400) NOT NULL,
  confirmed_at BIGINT,
  last_step BIGINT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, account)
);

CREATE TABLE totp_recovery_codes (
  tenant_id INTEGER NOT NULL,
  account VARCHAR(400) NOT NULL,
  digest CHAR(64) NOT NULL,
  PRIMARY KEY (tenant_id, account, digest),
  FOREIGN KEY (tenant_id, account) REFERENCES totp_authenticators (tenant_id, account) ON DELETE CASCADE
);

-- OpenID Connect provider per tenant (issue 14): registered clients, signing and cookie keys, and the
-- provider's short-lived state (codes, tokens, sessions, grants, interactions).
CREATE TABLE oidc_clients (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  client_id VARCHAR(64) NOT NULL,
  metadata TEXT NOT NULL,
  secret_hash VARCHAR(128),
  created_by VARCHAR(255) NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE oidc_keys (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kid VARCHAR(64) NOT NULL,
  purpose VARCHAR(16) NOT NULL,
  private_material TEXT NOT NULL,
  public_jwk TEXT,
  created_at BIGINT NOT NULL,
  retires_at BIGINT,
  PRIMARY KEY (tenant_id, kid)
);

CREATE TABLE oidc_payloads (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  model VARCHAR(64) NOT NULL,
  id VARCHAR(255) NOT NULL,
  payload TEXT NOT NULL,
  grant_id VARCHAR(255),
  uid VARCHAR(255),
  user_code VARCHAR(255),
  expires_at BIGINT,
  consumed_at BIGINT,
  PRIMARY KEY (tenant_id, model, id)
);
CREATE INDEX oidc_payloads_grant_idx ON oidc_payloads (tenant_id, grant_id);
CREATE INDEX oidc_payloads_uid_idx ON oidc_payloads (tenant_id, model, uid);
CREATE INDEX oidc_payloads_user_code_idx ON oidc_payloads (tenant_id, model, user_code);
CREATE INDEX oidc_payloads_expiry_idx ON oidc_payloads (expires_at);
