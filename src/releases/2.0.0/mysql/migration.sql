-- Tessera 2.0.0: argon2id passwords (legacy hashes re-hashed at login), registry, cluster nodes, audit log.
ALTER TABLE users ADD COLUMN password_algorithm VARCHAR(16) NOT NULL DEFAULT 'sha256';

CREATE TABLE registry_resources (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id INT NOT NULL,
  path VARCHAR(512) NOT NULL,
  version INT NOT NULL,
  media_type VARCHAR(255) NOT NULL,
  content LONGBLOB NOT NULL,
  created_by VARCHAR(255) NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE KEY registry_resources_path_version_uq (tenant_id, path, version),
  CONSTRAINT registry_resources_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE registry_properties (
  resource_id INT NOT NULL,
  name VARCHAR(255) NOT NULL,
  value MEDIUMTEXT NOT NULL,
  PRIMARY KEY (resource_id, name),
  CONSTRAINT registry_properties_resource_fk FOREIGN KEY (resource_id) REFERENCES registry_resources (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE cluster_nodes (
  node_id VARCHAR(64) NOT NULL PRIMARY KEY,
  host VARCHAR(255) NOT NULL,
  port INT NOT NULL,
  release_version VARCHAR(32) NOT NULL,
  started_at BIGINT NOT NULL,
  last_heartbeat BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE audit_log (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id INT NOT NULL,
  actor VARCHAR(255) NOT NULL,
  action VARCHAR(64) NOT NULL,
  target VARCHAR(512) NOT NULL,
  detail MEDIUMTEXT,
  created_at BIGINT NOT NULL,
  KEY audit_log_tenant_time_idx (tenant_id, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
