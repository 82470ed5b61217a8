import type { CreateTableBuilder } from 'kysely';
import type { Database } from '../../db/connection.js';
import type { Schema } from '../../db/schema.js';

/**
 * The tables a SQL user store reads: the server database's own for PRIMARY, and the same shape in a
 * secondary JDBC store's separate database (where `ensureJdbcStoreSchema` creates them). A JDBC store's
 * schema is the same in every release, so an upgrade carries its definition and leaves its database alone.
 */
export type StoreSchema = Pick<Schema, 'users' | 'roles' | 'user_roles' | 'user_attributes'>;

export async function ensureJdbcStoreSchema(database: Database<unknown>): Promise<void> {
  const { schema } = database.db;
  const id = <T extends string>(table: CreateTableBuilder<T, never>) =>
    database.dialect.addIdentityColumn(table, 'id');
  await schema
    .createTable('users')
    .ifNotExists()
    .$call(id)
    .addColumn('tenant_id', 'integer', (c) => c.notNull())
    .addColumn('username', 'varchar(255)', (c) => c.notNull())
    .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('password_salt', 'varchar(64)', (c) => c.notNull())
    .addColumn('password_algorithm', 'varchar(16)', (c) => c.notNull())
    .addColumn('is_system', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('users_tenant_username_uq', ['tenant_id', 'username'])
    .execute();
  await schema
    .createTable('roles')
    .ifNotExists()
    .$call(id)
    .addColumn('tenant_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('is_system', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('roles_tenant_name_uq', ['tenant_id', 'name'])
    .execute();
  await schema
    .createTable('user_roles')
    .ifNotExists()
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
    .execute();
  await schema
    .createTable('user_attributes')
    .ifNotExists()
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_attributes_pk', ['user_id', 'name'])
    .execute();
}
