import { type CreateTableBuilder, sql } from 'kysely';
import type { Database } from '../db/connection.js';
import type { RegistryPropertiesTable, RegistryResourcesTable } from '../db/schema.js';

/** The two tables the registry reads: the server database's own, and the same shape in a mounted database. */
export interface RegistrySchema {
  registry_resources: RegistryResourcesTable;
  registry_properties: RegistryPropertiesTable;
}

/**
 * Creates the registry tables in a mounted database when they are missing (the server database has them
 * from its migrations). Rows there carry the tenant id like the server's, without a foreign key to a
 * tenants table that database does not have.
 */
export async function ensureMountSchema(database: Database<RegistrySchema>): Promise<void> {
  const { schema } = database.db;
  const { dialect } = database;
  const blob = sql.raw(dialect.blobType);
  const text = sql.raw(dialect.largeTextType);
  const tableOptions = <T extends string>(table: CreateTableBuilder<T, never>) =>
    dialect.withTableOptions(table);
  await schema
    .createTable('registry_resources')
    .ifNotExists()
    .$call((table) => database.dialect.addIdentityColumn(table, 'id'))
    .addColumn('tenant_id', 'integer', (c) => c.notNull())
    .addColumn('path', 'varchar(512)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('media_type', 'varchar(255)', (c) => c.notNull())
    .addColumn('content', blob, (c) => c.notNull())
    .addColumn('created_by', 'varchar(255)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('registry_resources_path_version_uq', ['tenant_id', 'path', 'version'])
    .$call(tableOptions)
    .execute();
  await schema
    .createTable('registry_properties')
    .ifNotExists()
    .addColumn('resource_id', 'integer', (c) =>
      c.notNull().references('registry_resources.id').onDelete('cascade'),
    )
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('registry_properties_pk', ['resource_id', 'name'])
    .$call(tableOptions)
    .execute();
}
