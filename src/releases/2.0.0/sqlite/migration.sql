-- Tessera 2.0.0: argon2id passwords (legacy hashes re-hashed at login), registry, cluster nodes, audit log.
ALTER TABLE users ADD COLUMN password_algorithm VARCHAR(16) NOT NULL DEFAULT 'sha256';

CREATE TABLE registry_resources (
  id INTEGER NOT NULL PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  path VARCHAR(512) NOT NULL,
  version INTEGER NOT NULL,
  media_type VARCHAR(255) NOT NULL,
  content BLOB NOT NULL,
  created_by VARCHAR(255) NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX registry_resources_path_version_uq ON registry_resources (tenant_id, path, version);

CREATE TABLE registry_properties (
  resource_id INTEGER NOT NULL REFERENCES registry_resources (id) ON DELETE CASCADE,
  name VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (resource_id, name)
);

CREATE TABLE cluster_nodes (
  node_id VARCHAR(64) NOT NULL PRIMARY KEY,
  host VARCHAR(255) NOT NULL,
  port INTEGER NOT NULL,
  release_version VARCHAR(32) NOT NULL,
  started_at BIGINT NOT NULL,
  last_heartbeat BIGINT NOT NULL
);

CREATE TABLE audit_log (
  id INTEGER NOT NULL PRIMARY KEY,
  tenant_id INTEGER NOT NULL,
  actor VARCHAR(255) NOT NULL,
  action VARCHAR(64) NOT NULL,
  target VARCHAR(512) NOT NULL,
  detail TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, created_at);
