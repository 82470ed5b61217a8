-- Tessera 1.1.0: user-store domains, system users and roles, attribute values wider than 255 characters.
CREATE TABLE store_domains (
  id INTEGER NOT NULL PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name VARCHAR(64) NOT NULL
);
CREATE UNIQUE INDEX store_domains_tenant_name_uq ON store_domains (tenant_id, name);
INSERT INTO store_domains (tenant_id, name) SELECT id, 'PRIMARY' FROM tenants ORDER BY id;

ALTER TABLE users ADD COLUMN is_system SMALLINT NOT NULL DEFAULT 0;
UPDATE users SET is_system = 1
  WHERE username = (SELECT t.admin_username FROM tenants t WHERE t.id = users.tenant_id);

ALTER TABLE roles ADD COLUMN is_system SMALLINT NOT NULL DEFAULT 0;
UPDATE roles SET is_system = 1 WHERE name = 'admin';

-- SQLite cannot change a column's type in place: rebuild the table.
CREATE TABLE user_attributes_v11 (
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (user_id, name)
);
INSERT INTO user_attributes_v11 (user_id, name, value) SELECT user_id, name, value FROM user_attributes;
DROP TABLE user_attributes;
ALTER TABLE user_attributes_v11 RENAME TO user_attributes;
