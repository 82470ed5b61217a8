-- Tessera 2.1.0: applications stored in the database as numbered versions, so that every node serves them;
-- per-tenant settings, failed logins counted for lockouts, when each password was set.
CREATE TABLE webapp_versions (
  tenant_id INT NOT NULL,
  name VARCHAR(100) NOT NULL,
  version INT NOT NULL,
  checksum CHAR(64) NOT NULL,
  size_bytes BIGINT NOT NULL,
  origin VARCHAR(16) NOT NULL,
  deployed_by VARCHAR(255) NOT NULL,
  deployed_at BIGINT NOT NULL,
  failure MEDIUMTEXT,
  pruned_at BIGINT,
  PRIMARY KEY (tenant_id, name, version),
  CONSTRAINT webapp_versions_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE webapp_version_chunks (
  tenant_id INT NOT NULL,
  name VARCHAR(100) NOT NULL,
  version INT NOT NULL,
  seq INT NOT NULL,
  bytes LONGBLOB NOT NULL,
  PRIMARY KEY (tenant_id, name, version, seq),
  CONSTRAINT webapp_version_chunks_version_fk FOREIGN KEY (tenant_id, name, version) REFERENCES webapp_versions (tenant_id, name, version) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE webapps (
  tenant_id INT NOT NULL,
  name VARCHAR(100) NOT NULL,
  current_version INT NOT NULL,
  updated_by VARCHAR(255) NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, name),
  CONSTRAINT webapps_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE tenant_settings (
  tenant_id INT NOT NULL,
  name VARCHAR(100) NOT NULL,
  value MEDIUMTEXT NOT NULL,
  updated_by VARCHAR(255) NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, name),
  CONSTRAINT tenant_settings_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE login_failures (
  kind VARCHAR(16) NOT NULL,
  subject VARCHAR(512) NOT NULL,
  tenant_id INT,
  failures INT NOT NULL,
  window_started_at BIGINT NOT NULL,
  lockouts INT NOT NULL,
  locked_until BIGINT,
  last_failure_at BIGINT NOT NULL,
  PRIMARY KEY (kind, subject),
  KEY login_failures_tenant_idx (tenant_id, locked_until)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- What each node serves of the apps, reported with its heartbeats (every node serves every app).
ALTER TABLE cluster_nodes ADD COLUMN apps_status MEDIUMTEXT;

ALTER TABLE users ADD COLUMN password_changed_at BIGINT;

-- Sign-in for apps (issue 14): app sessions behind the session cookie, kept in the database so that every
-- node of a cluster knows them. Only the SHA-256 of each token is stored.
CREATE TABLE app_sessions (
  id VARCHAR(32) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  tenant_id INT NOT NULL,
  store VARCHAR(64) NOT NULL,
  username VARCHAR(255) NOT NULL,
  roles MEDIUMTEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  checked_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  address VARCHAR(64) NOT NULL,
  user_agent VARCHAR(512) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY app_sessions_token_idx (token_hash),
  KEY app_sessions_user_idx (tenant_id, store, username),
  KEY app_sessions_expiry_idx (expires_at),
  CONSTRAINT app_sessions_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- TOTP second factor (issue 14): one authenticator per account (`<STORE>/<lower-cased name>`, as the
-- lockout counts it), its secret sealed with the home's conf/secrets.key; recovery codes by SHA-256.
CREATE TABLE totp_authenticators (
  tenant_id INT NOT NULL,
  account VARCHAR(400) NOT NULL,
  secret VARCHAR(400) NOT NULL,
  confirmed_at BIGINT,
  last_step BIGINT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, account),
  CONSTRAINT totp_authenticators_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE totp_recovery_codes (
  tenant_id INT NOT NULL,
  account VARCHAR(400) NOT NULL,
  digest CHAR(64) NOT NULL,
  PRIMARY KEY (tenant_id, account, digest),
  CONSTRAINT totp_recovery_codes_authenticator_fk FOREIGN KEY (tenant_id, account)
    REFERENCES totp_authenticators (tenant_id, account) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- OpenID Connect provider per tenant (issue 14): registered clients, signing and cookie keys, and the
-- provider's short-lived state (codes, tokens, sessions, grants, interactions).
CREATE TABLE oidc_clients (
  tenant_id INT NOT NULL,
  client_id VARCHAR(64) NOT NULL,
  metadata MEDIUMTEXT NOT NULL,
  secret_hash VARCHAR(128),
  created_by VARCHAR(255) NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, client_id),
  CONSTRAINT oidc_clients_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oidc_keys (
  tenant_id INT NOT NULL,
  kid VARCHAR(64) NOT NULL,
  purpose VARCHAR(16) NOT NULL,
  private_material MEDIUMTEXT NOT NULL,
  public_jwk MEDIUMTEXT,
  created_at BIGINT NOT NULL,
  retires_at BIGINT,
  PRIMARY KEY (tenant_id, kid),
  CONSTRAINT oidc_keys_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oidc_payloads (
  tenant_id INT NOT NULL,
  model VARCHAR(64) NOT NULL,
  id VARCHAR(255) NOT NULL,
  payload MEDIUMTEXT NOT NULL,
  grant_id VARCHAR(255),
  uid VARCHAR(255),
  user_code VARCHAR(255),
  expires_at BIGINT,
  consumed_at BIGINT,
  PRIMARY KEY (tenant_id, model, id),
  KEY oidc_payloads_grant_idx (tenant_id, grant_id),
  KEY oidc_payloads_uid_idx (tenant_id, model, uid),
  KEY oidc_payloads_user_code_idx (tenant_id, model, user_code),
  KEY oidc_payloads_expiry_idx (expires_at),
  CONSTRAINT oidc_payloads_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
