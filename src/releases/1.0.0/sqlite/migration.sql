-- Tessera 1.0.0: tenants, the primary user store (salted SHA-256 passwords), roles and attributes.
CREATE TABLE tenants (
  id INTEGER NOT NULL PRIMARY KEY,
  domain VARCHAR(255) NOT NULL,
  admin_username VARCHAR(255) NOT NULL,
  active SMALLINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenants_domain_uq ON tenants (domain);

CREATE TABLE users (
  id INTEGER NOT NULL PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  username VARCHAR(255) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  password_salt VARCHAR(64) NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_tenant_username_uq ON users (tenant_id, username);

CREATE TABLE roles (
  id INTEGER NOT NULL PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name VARCHAR(255) NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX roles_tenant_name_uq ON roles (tenant_id, name);

CREATE TABLE user_roles (
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role_id INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);

CREATE TABLE user_attributes (
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name VARCHAR(255) NOT NULL,
  value VARCHAR(255) NOT NULL,
  PRIMARY KEY (user_id, name)
);
