-- Tessera 1.1.0: user-store domains, system users and roles, attribute values wider than 255 characters.
CREATE TABLE store_domains (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tenant_id INT NOT NULL,
  name VARCHAR(64) NOT NULL,
  UNIQUE KEY store_domains_tenant_name_uq (tenant_id, name),
  CONSTRAINT store_domains_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO store_domains (tenant_id, name) SELECT id, 'PRIMARY' FROM tenants ORDER BY id;

ALTER TABLE users ADD COLUMN is_system SMALLINT NOT NULL DEFAULT 0;
UPDATE users u JOIN tenants t ON t.id = u.tenant_id AND u.username = t.admin_username SET u.is_system = 1;

ALTER TABLE roles ADD COLUMN is_system SMALLINT NOT NULL DEFAULT 0;
UPDATE roles SET is_system = 1 WHERE name = 'admin';

ALTER TABLE user_attributes MODIFY value MEDIUMTEXT NOT NULL;
