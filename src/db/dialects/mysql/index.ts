import { Kysely, MysqlDialect, sql } from 'kysely';
import { type ConnectionOptions, createConnection, createPool } from 'mysql2';
import { TesseraError } from '../../../errors.js';
import { insertInBatches } from '../../batch.js';
import type { Dialect, DialectModule, IntrospectedForeignKey, IntrospectedTable } from '../../dialect.js';
import type { DatabaseTarget } from '../../url.js';

// The wire protocol counts placeholders in 16 bits.
const MAX_PARAMETERS = 60_000;
/** The name MySQL and MariaDB give every primary key. */
const PRIMARY_KEY_INDEX = 'PRIMARY';
const BATCH_LIMITS = { maxParameters: MAX_PARAMETERS, maxRows: 5_000 };

function serverConfig(target: DatabaseTarget, withDatabase: boolean): ConnectionOptions {
  if (target.kind !== 'mysql') throw new Error('mysql dialect given another target');
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: withDatabase ? target.database : undefined,
    charset: 'utf8mb4_bin',
    supportBigNumbers: true,
    bigNumberStrings: false,
    timezone: 'Z',
  };
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

function connectFailed(target: DatabaseTarget, error: unknown): TesseraError {
  const where = target.kind === 'sqlite' ? target.file : `${target.host}:${target.port}/${target.database}`;
  return new TesseraError(
    'DB_CONNECT_FAILED',
    `Cannot connect to MySQL/MariaDB at ${where}: ${(error as Error).message}`,
    {
      hint: 'Check that the server is running, the database exists and the URL is right.',
      cause: error,
    },
  );
}

async function adminQuery(target: DatabaseTarget, statement: string): Promise<void> {
  const connection = createConnection(serverConfig(target, false)).promise();
  try {
    await connection.query(statement);
  } catch (error) {
    if ((error as { fatal?: boolean }).fatal) throw connectFailed(target, error);
    throw error;
  } finally {
    await connection.end().catch(() => {});
  }
}

const dialect: Dialect = {
  kind: 'mysql',
  transactionalDdl: false,

  async introspect(db) {
    const columns = await sql<{
      table_name: string;
      column_name: string;
      type: string;
      nullable: string;
      extra: string;
    }>`
      select table_name as table_name, column_name as column_name, column_type as type, is_nullable as nullable,
             extra as extra
      from information_schema.columns
      where table_schema = database()
      order by table_name, ordinal_position`.execute(db);
    const indexes = await sql<{
      table_name: string;
      index_name: string;
      column_name: string;
      non_unique: number;
    }>`
      select table_name as table_name, index_name as index_name, column_name as column_name, non_unique as non_unique
      from information_schema.statistics
      where table_schema = database()
      order by table_name, index_name, seq_in_index`.execute(db);
    const references = await sql<{
      table_name: string;
      constraint_name: string;
      column_name: string;
      referenced_table: string;
      referenced_column: string;
    }>`
      select table_name as table_name, constraint_name as constraint_name, column_name as column_name,
             referenced_table_name as referenced_table, referenced_column_name as referenced_column
      from information_schema.key_column_usage
      where table_schema = database() and referenced_table_name is not null
      order by table_name, constraint_name, ordinal_position`.execute(db);
    const byName = new Map<string, IntrospectedTable>();
    for (const c of columns.rows) {
      let table = byName.get(c.table_name);
      if (!table) {
        table = { name: c.table_name, columns: [], indexes: [], primaryKey: [], foreignKeys: [] };
        byName.set(c.table_name, table);
      }
      table.columns.push({ name: c.column_name, type: c.type.toLowerCase(), nullable: c.nullable === 'YES' });
      if (c.extra.toLowerCase().includes('auto_increment')) table.identity = c.column_name;
    }
    for (const i of indexes.rows) {
      const table = byName.get(i.table_name);
      if (!table) continue;
      const existing = table.indexes.find((x) => x.name === i.index_name);
      if (existing) existing.columns.push(i.column_name);
      else
        table.indexes.push({
          name: i.index_name,
          columns: [i.column_name],
          unique: Number(i.non_unique) === 0,
        });
    }
    for (const table of byName.values()) {
      table.primaryKey = [...(table.indexes.find((i) => i.name === PRIMARY_KEY_INDEX)?.columns ?? [])];
    }
    const keys = new Map<string, IntrospectedForeignKey>();
    for (const r of references.rows) {
      const id = `${r.table_name}.${r.constraint_name}`;
      let key = keys.get(id);
      if (!key) {
        key = { columns: [], referencedTable: r.referenced_table, referencedColumns: [] };
        keys.set(id, key);
        byName.get(r.table_name)?.foreignKeys.push(key);
      }
      key.columns.push(r.column_name);
      key.referencedColumns.push(r.referenced_column);
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  },

  async databaseSize(db) {
    const result = await sql<{ bytes: number | string | null }>`
      select sum(data_length + index_length) as bytes from information_schema.tables
      where table_schema = database()`.execute(db);
    return Number(result.rows[0]?.bytes ?? 0);
  },

  async liveSessions(db) {
    const result = await sql<{ id: number; user: string; host: string }>`
      select id as id, user as user, host as host from information_schema.processlist
      where db = database() and id <> connection_id()`.execute(db);
    return result.rows.map((r) => ({ id: String(r.id), user: r.user, client: r.host }));
  },

  bulkInsert(db, table, columns, rows, options = {}) {
    const limits = { ...BATCH_LIMITS, onBatch: options.onBatch };
    if (!options.trustedCopy) return insertInBatches(db, table, columns, rows, limits);
    // The pool hands each query any connection: the session setting and the load must share one.
    return db.connection().execute(async (connection) => {
      await sql`set foreign_key_checks = 0`.execute(connection);
      try {
        return await insertInBatches(connection, table, columns, rows, limits);
      } finally {
        await sql`set foreign_key_checks = 1`.execute(connection);
      }
    });
  },

  async refreshStatistics(db, table) {
    await sql`analyze table ${sql.table(table)}`.execute(db);
  },

  addIdentityColumn(table, name) {
    return table.addColumn(name, 'integer', (c) => c.primaryKey().autoIncrement().notNull()) as typeof table;
  },

  async syncIdentity() {
    // InnoDB moves AUTO_INCREMENT past any explicit id it is given.
  },

  readConsistently(db, work) {
    // InnoDB reads of a REPEATABLE READ transaction all come from the snapshot of its first read.
    return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work);
  },
};

export const mysqlModule: DialectModule = {
  dialect,

  async connect(target) {
    const pool = createPool({ ...serverConfig(target, true), connectionLimit: 10 });
    try {
      const probe = await pool.promise().getConnection();
      probe.release();
    } catch (error) {
      await pool
        .promise()
        .end()
        .catch(() => {});
      throw connectFailed(target, error);
    }
    return new Kysely<unknown>({ dialect: new MysqlDialect({ pool }) });
  },

  async createDatabase(target) {
    if (target.kind !== 'mysql') throw new Error('mysql dialect given another target');
    await adminQuery(
      target,
      `CREATE DATABASE ${quoteIdentifier(target.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  },

  async dropDatabase(target) {
    if (target.kind !== 'mysql') throw new Error('mysql dialect given another target');
    await adminQuery(target, `DROP DATABASE IF EXISTS ${quoteIdentifier(target.database)}`);
  },
};
