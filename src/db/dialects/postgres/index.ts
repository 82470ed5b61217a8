import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { TesseraError } from '../../../errors.js';
import type { Dialect, DialectModule, IntrospectedTable } from '../../dialect.js';
import type { DatabaseTarget } from '../../url.js';
import { copyTextChunks } from './copy-text.js';

const INT8_OID = 20;
const pools = new WeakMap<Kysely<unknown>, pg.Pool>();

// Ids, counts and epoch-millisecond timestamps are BIGINT; all stay far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

function serverConfig(target: DatabaseTarget, database?: string): pg.ClientConfig {
  if (target.kind !== 'postgres') throw new Error('postgres dialect given another target');
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: database ?? target.database,
    application_name: 'tessera',
  };
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function withAdminClient(
  target: DatabaseTarget,
  run: (client: pg.Client) => Promise<void>,
): Promise<void> {
  const client = new pg.Client(serverConfig(target, 'postgres'));
  try {
    await client.connect();
  } catch (error) {
    throw connectFailed(target, error);
  }
  try {
    await run(client);
  } finally {
    await client.end();
  }
}

function connectFailed(target: DatabaseTarget, error: unknown): TesseraError {
  const where = target.kind === 'sqlite' ? target.file : `${target.host}:${target.port}/${target.database}`;
  return new TesseraError(
    'DB_CONNECT_FAILED',
    `Cannot connect to PostgreSQL at ${where}: ${(error as Error).message}`,
    {
      hint: 'Check that the server is running, the database exists and the URL is right.',
      cause: error,
    },
  );
}

const dialect: Dialect = {
  kind: 'postgres',
  transactionalDdl: true,

  async introspect(db) {
    const columns = await sql<{ table_name: string; column_name: string; type: string; nullable: boolean }>`
      select c.relname as table_name, a.attname as column_name,
             format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
      order by c.relname, a.attnum`.execute(db);
    const indexes = await sql<{ table_name: string; index_name: string; columns: string[]; unique: boolean }>`
      select t.relname as table_name, i.relname as index_name, ix.indisunique as unique,
             array(select a.attname from unnest(ix.indkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord) as columns
      from pg_index ix
      join pg_class t on t.oid = ix.indrelid
      join pg_class i on i.oid = ix.indexrelid
      join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = current_schema()
      order by t.relname, i.relname`.execute(db);
    const byName = new Map<string, IntrospectedTable>();
    for (const c of columns.rows) {
      let table = byName.get(c.table_name);
      if (!table) {
        table = { name: c.table_name, columns: [], indexes: [] };
        byName.set(c.table_name, table);
      }
      table.columns.push({ name: c.column_name, type: c.type.toLowerCase(), nullable: c.nullable });
    }
    for (const i of indexes.rows) {
      byName.get(i.table_name)?.indexes.push({ name: i.index_name, columns: i.columns, unique: i.unique });
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  },

  async databaseSize(db) {
    const result = await sql<{ bytes: number }>`select pg_database_size(current_database()) as bytes`.execute(db);
    return Number(result.rows[0]?.bytes ?? 0);
  },

  async liveSessions(db) {
    const result = await sql<{
      pid: number;
      usename: string | null;
      application_name: string;
      client_addr: string | null;
    }>`
      select pid, usename, application_name, host(client_addr) as client_addr
      from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`.execute(
      db,
    );
    return result.rows.map((r) => ({
      id: String(r.pid),
      user: r.usename ?? '',
      client: `${r.application_name || 'unknown'}@${r.client_addr ?? 'local'}`,
    }));
  },

  async bulkInsert(db, table, columns, rows) {
    const pool = pools.get(db);
    if (!pool)
      throw new Error('bulkInsert needs the Kysely instance returned by connect(), not a transaction');
    const client = await pool.connect();
    const counter = { rows: 0 };
    try {
      const statement = `COPY ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')}) FROM STDIN`;
      await pipeline(Readable.from(copyTextChunks(rows, counter)), client.query(copyFrom(statement)));
    } finally {
      client.release();
    }
    return counter.rows;
  },

  addIdentityColumn(table, name) {
    return table.addColumn(name, 'integer', (c) =>
      c.primaryKey().generatedByDefaultAsIdentity().notNull(),
    ) as typeof table;
  },

  async syncIdentity(db, table, column) {
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}),
                            coalesce((select max(${sql.ref(column)}) from ${sql.table(table)}), 0) + 1, false)`.execute(
      db,
    );
  },
};

export const postgresModule: DialectModule = {
  dialect,

  async connect(target) {
    const pool = new pg.Pool({ ...serverConfig(target), max: 10, types });
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => {});
      throw connectFailed(target, error);
    }
    // An idle client that loses its server must not crash the process.
    pool.on('error', () => {});
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    pools.set(db, pool);
    return db;
  },

  async createDatabase(target) {
    if (target.kind !== 'postgres') throw new Error('postgres dialect given another target');
    await withAdminClient(target, async (client) => {
      await client.query(`CREATE DATABASE ${quoteIdentifier(target.database)}`);
    });
  },

  async dropDatabase(target) {
    if (target.kind !== 'postgres') throw new Error('postgres dialect given another target');
    await withAdminClient(target, async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(target.database)} WITH (FORCE)`);
    });
  },
};
