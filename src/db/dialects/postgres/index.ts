import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type pg from 'pg';
import { TesseraError } from '../../../errors.js';
import {
  type CloneResult,
  type ConnectOptions,
  DEFAULT_POOL_SIZE,
  type Dialect,
  type DialectModule,
  NO_FILE_COMPANIONS,
  type RoleDatabaseCreation,
} from '../../dialect.js';
import { errorCauses } from '../../error-causes.js';
import { groupCatalogue } from '../../introspection.js';
import { shellCommand } from '../../shell-command.js';
import { type DatabaseTarget, sameServer } from '../../url.js';
import { BinaryCopyRowCounter } from './copy-binary.js';
import { copyTextChunks } from './copy-text.js';
import { withKeysDeferred } from './deferred-keys.js';

type ServerTarget = Exclude<DatabaseTarget, { kind: 'sqlite' }>;

const INT8_OID = 20;
/** Rows between two progress reports of a binary COPY from one database to another. */
const COPY_REPORT_ROWS = 5_000;
const pools = new WeakMap<Kysely<unknown>, pg.Pool>();

interface PgDriver {
  pg: typeof pg;
  copyFrom: typeof import('pg-copy-streams').from;
  copyTo: typeof import('pg-copy-streams').to;
}
let loadedDriver: Promise<PgDriver> | undefined;

/**
 * pg and pg-copy-streams, loaded when a PostgreSQL database is first used: a process on SQLite or MariaDB
 * (most server starts and CLI commands) does not pay for loading them.
 */
function driver(): Promise<PgDriver> {
  loadedDriver ??= Promise.all([import('pg'), import('pg-copy-streams')]).then(([pgModule, copy]) => ({
    pg: pgModule.default,
    copyFrom: copy.from,
    copyTo: copy.to,
  }));
  return loadedDriver;
}

function poolOf(db: Kysely<unknown>, purpose: string): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error(`${purpose} needs the Kysely instance returned by connect(), not a transaction`);
  return pool;
}

// Ids, counts and epoch-millisecond timestamps are BIGINT; all stay far below 2^53.
function typeParsers(driverPg: typeof pg): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID
        ? (value: string) => Number(value)
        : driverPg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
}

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
  connectTimeoutMs?: number,
): Promise<void> {
  const { pg: driverPg } = await driver();
  const client = new driverPg.Client({
    ...serverConfig(target, 'postgres'),
    ...(connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: connectTimeoutMs }),
  });
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

// SQLSTATEs: a database that does not exist, one that already does, a privilege the role lacks.
const INVALID_CATALOG_NAME = '3D000';
const DUPLICATE_DATABASE = '42P04';
const INSUFFICIENT_PRIVILEGE = '42501';

function serverTarget(target: DatabaseTarget): ServerTarget {
  if (target.kind !== 'postgres') throw new Error('postgres dialect given another target');
  return target;
}

/** A role without CREATEDB: a superuser creates the database, owned by the role so that it can create the store's tables. */
function createdbRefusal(target: ServerTarget): RoleDatabaseCreation {
  return {
    created: false,
    reason: `role ${target.user} may not create databases`,
    command: shellCommand([
      'createdb',
      '-h',
      target.host,
      '-p',
      String(target.port),
      '-U',
      'postgres',
      '-O',
      target.user,
      target.database,
    ]),
  };
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

/**
 * Runs a load with the session in replica mode, which skips the row-by-row foreign key checks that cost
 * most of a COPY into tables with references: for copies of a consistent database, verified whole
 * afterwards. Only a superuser may switch modes; for anyone else the load runs with the checks on. A load
 * that fails leaves the client to be destroyed, so the mode is reset only after success.
 */
async function withoutForeignKeyChecks<T>(client: pg.PoolClient, load: () => Promise<T>): Promise<T> {
  await client.query('SET session_replication_role = replica').catch(() => {});
  const result = await load();
  await client.query('RESET session_replication_role');
  return result;
}

const recordHashSupport = new WeakMap<Kysely<unknown>, Promise<boolean>>();

function hasRecordHash(db: Kysely<unknown>): Promise<boolean> {
  let known = recordHashSupport.get(db);
  if (!known) {
    known = sql<{
      found: boolean;
    }>`select to_regprocedure('hash_record_extended(record, bigint)') is not null as found`
      .execute(db)
      .then((result) => result.rows[0]?.found === true);
    // A check that failed (a dropped connection) is asked again next time, not remembered.
    known.catch(() => recordHashSupport.delete(db));
    recordHashSupport.set(db, known);
  }
  return known;
}

const dialect: Dialect = {
  kind: 'postgres',
  displayName: 'PostgreSQL',
  transactionalDdl: true,
  blobType: 'bytea',
  largeTextType: 'text',
  withTableOptions: (table) => table,
  fileCompanions: NO_FILE_COMPANIONS,

  async introspect(db) {
    const columns = await sql<{
      table_name: string;
      column_name: string;
      type: string;
      nullable: boolean;
      generated: boolean;
    }>`
      select c.relname as table_name, a.attname as column_name,
             format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable,
             (a.attidentity <> '' or coalesce(pg_get_expr(d.adbin, d.adrelid), '') like 'nextval(%') as generated
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where n.nspname = current_schema() and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
      order by c.relname, a.attnum`.execute(db);
    // Column names are cast to text: pg parses text[] into an array, but returns name[] as a string.
    const indexes = await sql<{
      table_name: string;
      index_name: string;
      columns: string[];
      unique: boolean;
      primary: boolean;
    }>`
      select t.relname as table_name, i.relname as index_name, ix.indisunique as unique, ix.indisprimary as primary,
             array(select a.attname::text from unnest(ix.indkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord) as columns
      from pg_index ix
      join pg_class t on t.oid = ix.indrelid
      join pg_class i on i.oid = ix.indexrelid
      join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = current_schema()
      order by t.relname, i.relname`.execute(db);
    // One row per constraint, each named by its oid (unique, where a name need not be).
    const references = await sql<{
      table_name: string;
      constraint_id: string;
      referenced_table: string;
      columns: string[];
      referenced_columns: string[];
    }>`
      select t.relname as table_name, c.oid::text as constraint_id, r.relname as referenced_table,
             array(select a.attname::text from unnest(c.conkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.ord) as columns,
             array(select a.attname::text from unnest(c.confkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum order by k.ord)
               as referenced_columns
      from pg_constraint c
      join pg_class t on t.oid = c.conrelid
      join pg_class r on r.oid = c.confrelid
      join pg_namespace n on n.oid = t.relnamespace
      where c.contype = 'f' and n.nspname = current_schema()
      order by t.relname, c.conname`.execute(db);
    return groupCatalogue(
      columns.rows.map((c) => ({
        table: c.table_name,
        name: c.column_name,
        type: c.type,
        nullable: c.nullable,
        generated: c.generated,
      })),
      indexes.rows.map((i) => ({
        table: i.table_name,
        name: i.index_name,
        columns: i.columns,
        unique: i.unique,
        primary: i.primary,
      })),
      references.rows.map((r) => ({
        table: r.table_name,
        constraint: r.constraint_id,
        columns: r.columns,
        referencedTable: r.referenced_table,
        referencedColumns: r.referenced_columns,
      })),
    );
  },

  async databaseSize(db) {
    const result = await sql<{ bytes: number }>`select pg_database_size(current_database()) as bytes`.execute(
      db,
    );
    return Number(result.rows[0]?.bytes ?? 0);
  },

  sessionWitness: 'pg_stat_activity',

  async databaseIdentity(db) {
    // The system identifier is chosen by initdb and kept for the cluster's life (a physical replica shares it,
    // and holds the same data); any role may read it.
    const result = await sql<{ system: string; database: string }>`
      select system_identifier::text as system, current_database() as database
      from pg_control_system()`.execute(db);
    const row = result.rows[0];
    if (!row) throw new Error('pg_control_system() returned no row');
    return `postgres:${row.system}:${row.database}`;
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

  async bulkInsert(db, table, columns, rows, options = {}) {
    const { copyFrom } = await driver();
    const client = await poolOf(db, 'bulkInsert').connect();
    const counter = { rows: 0 };
    const statement = `COPY ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')}) FROM STDIN`;
    const load = () =>
      pipeline(
        Readable.from(copyTextChunks(rows, counter, undefined, options.onBatch)),
        client.query(copyFrom(statement)),
      );
    let failed = false;
    try {
      await (options.trustedCopy ? withoutForeignKeyChecks(client, load) : load());
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A client stopped in the middle of a COPY is no use to anyone else.
      client.release(failed);
    }
    return counter.rows;
  },

  async refreshStatistics(db, table) {
    await sql`analyze ${sql.table(table)}`.execute(db);
  },

  addIdentityColumn(table, name) {
    return table.addColumn(name, 'integer', (c) =>
      c.primaryKey().generatedByDefaultAsIdentity().notNull(),
    ) as typeof table;
  },

  async syncIdentity(db, table, column) {
    // `setval(seq, max, true)` rather than `(max + 1, false)`: the largest id the column type allows must
    // not push the sequence out of bounds. Below 1 (no rows, or only negative ids) it restarts at 1.
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}), greatest(m.id, 1), m.id >= 1)
              from (select coalesce(max(${sql.ref(column)}), 0) as id from ${sql.table(table)}) m`.execute(
      db,
    );
  },

  async tableDigest(db, table, columns, options = {}) {
    // Each row hashed and the hashes summed: the server reads the table once (in parallel workers when
    // large) and only two numbers come back. hash_record_extended (PostgreSQL 14 and later) hashes the
    // values' binary forms, a third to a half faster at 1M users than hashing the row's text form.
    const row = sql`row(${sql.join(columns.map((c) => sql.ref(c)))})`;
    const hash =
      options.portable !== true && (await hasRecordHash(db))
        ? sql`hash_record_extended(${row}, 0)`
        : sql`hashtextextended(${row}::text, 0)`;
    const result = await sql<{ rows: number; digest: string | null }>`
      select count(*) as rows, sum(${hash})::text as digest from ${sql.table(table)}`.execute(db);
    const first = result.rows[0];
    const form = options.portable !== true && (await hasRecordHash(db)) ? 'pg-record-sum' : 'pg-rowtext-sum';
    return { rows: Number(first?.rows ?? 0), digest: `${form}:${first?.digest ?? '0'}` };
  },

  async trustedCopySkipsForeignKeys(db) {
    // Replica mode, which turns the checks off, is a superuser's to set (see withoutForeignKeyChecks).
    const role = await sql<{ superuser: boolean }>`
      select rolsuper as superuser from pg_roles where rolname = current_user`.execute(db);
    return role.rows[0]?.superuser === true;
  },

  async nextIdentity(db, table, column) {
    // NULL while the sequence was never used: its first value comes next.
    const result = await sql<{ last: number | null; start: number }>`
      select pg_sequence_last_value(s.seq) as last, q.seqstart as start
      from (select pg_get_serial_sequence(${table}, ${column})::regclass as seq) s
      join pg_sequence q on q.seqrelid = s.seq`.execute(db);
    const row = result.rows[0];
    if (!row) return undefined;
    return row.last === null ? Number(row.start) : Number(row.last) + 1;
  },

  async setNextIdentity(db, table, column, next) {
    // `setval(seq, v, true)` hands out v + 1 next; v stays within the column type even at its largest id.
    await sql`select setval(pg_get_serial_sequence(${table}, ${column}), greatest(m.v, 1), m.v >= 1)
              from (select greatest(${next}::int8 - 1, coalesce(max(${sql.ref(column)}), 0)) as v
                    from ${sql.table(table)}) m`.execute(db);
  },

  readConsistently(db, work) {
    return db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (snapshot) => {
        // Reads in key order (dumps, checksums) page through the primary key. A freshly loaded database has
        // no planner statistics yet, and the planner would then sort the whole table for every page: 20 times
        // the work at 1M users. Sequential and bitmap scans (which lose the key order) are priced out here only.
        await sql`set local enable_seqscan = off`.execute(snapshot);
        await sql`set local enable_bitmapscan = off`.execute(snapshot);
        return work(snapshot);
      });
  },

  nativeCopy: {
    scope: 'table',
    method: 'PostgreSQL binary COPY',
    async copy(source, target, { name: table, columns }, onBatch) {
      const { copyFrom, copyTo } = await driver();
      const reader = await poolOf(source, 'copy').connect();
      let writer: pg.PoolClient;
      try {
        writer = await poolOf(target, 'copy').connect();
      } catch (error) {
        reader.release();
        throw error;
      }
      const list = columns.map(quoteIdentifier).join(', ');
      const counter = new BinaryCopyRowCounter(COPY_REPORT_ROWS, (rows, bytes) => onBatch?.(rows, bytes));
      let failed = false;
      try {
        await withoutForeignKeyChecks(writer, () =>
          withKeysDeferred(writer, table, () =>
            pipeline(
              reader.query(copyTo(`COPY ${quoteIdentifier(table)} (${list}) TO STDOUT (FORMAT binary)`)),
              counter,
              writer.query(copyFrom(`COPY ${quoteIdentifier(table)} (${list}) FROM STDIN (FORMAT binary)`)),
            ),
          ),
        );
        return counter.rows;
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // A client stopped in the middle of a COPY is no use to anyone else.
        reader.release(failed);
        writer.release(failed);
      }
    },
  },
};

/**
 * `DROP DATABASE` of the empty staging database, then `CREATE DATABASE staging TEMPLATE production` under
 * the same owner. Dropping first matters: PostgreSQL checkpoints on every DROP DATABASE, and a drop after
 * the copy (of a side database's old name) would write the whole fresh copy to disk inside the outage.
 * When the copy is refused (a session on production, no right), the empty staging database is created
 * again as it was, and the caller copies table by table.
 */
async function cloneByTemplate(source: ServerTarget, target: ServerTarget): Promise<CloneResult> {
  let outcome: CloneResult = { cloned: false, reason: 'not attempted' };
  await withAdminClient(target, async (client) => {
    const found = await client.query<{ owner: string }>(
      'select pg_get_userbyid(datdba) as owner from pg_database where datname = $1',
      [target.database],
    );
    // A staging database that a crashed earlier attempt already dropped is created again under its name,
    // with the default owner.
    const owner = found.rows[0] ? ` OWNER ${quoteIdentifier(found.rows[0].owner)}` : '';
    const staging = quoteIdentifier(target.database);
    // Refused before anything is dropped: a role that cannot create databases could not put staging back,
    // and a session on production (or on staging) would make the copy (or the drop) fail.
    const refusal = await cloneRefusal(client, source, target);
    if (refusal !== undefined) {
      outcome = { cloned: false, reason: refusal };
      return;
    }
    await client.query(`DROP DATABASE IF EXISTS ${staging}`);
    try {
      await client.query(`CREATE DATABASE ${staging} TEMPLATE ${quoteIdentifier(source.database)}${owner}`);
      // What the clone wrote, for the operator: a template copy moves files, not rows.
      const size = await client.query<{ bytes: string }>('select pg_database_size($1)::text as bytes', [
        target.database,
      ]);
      outcome = {
        cloned: true,
        method: 'PostgreSQL template copy (CREATE DATABASE ... TEMPLATE)',
        bytes: Number(size.rows[0]?.bytes),
      };
    } catch (error) {
      // A session that arrived since the check: staging is put back empty, as the operator created it.
      const reason = (error as Error).message;
      await client.query(`CREATE DATABASE ${staging}${owner}`).catch((again: unknown) => {
        throw new TesseraError(
          'DB_CONNECT_FAILED',
          `The template copy failed (${reason}) and the empty staging database ${target.database} could not be created again: ${(again as Error).message}`,
          {
            hint: `Create the empty database ${target.database} again, then run the same command with --resume.`,
          },
        );
      });
      outcome = { cloned: false, reason };
    }
  });
  return outcome;
}

/** Why a template copy cannot be made right now, or undefined when it can. */
async function cloneRefusal(
  client: pg.Client,
  source: ServerTarget,
  target: ServerTarget,
): Promise<string | undefined> {
  const role = await client.query<{ allowed: boolean }>(
    'select rolsuper or rolcreatedb as allowed from pg_roles where rolname = current_user',
  );
  if (role.rows[0]?.allowed !== true) return `role ${source.user} may not create databases`;
  const sessions = await client.query<{ datname: string; n: number }>(
    `select datname, count(*)::int as n from pg_stat_activity
     where datname = any($1) and pid <> pg_backend_pid() group by datname`,
    [[source.database, target.database]],
  );
  const busy = sessions.rows.map((r) => `${r.n} session(s) on ${r.datname}`);
  return busy.length > 0 ? `${busy.join(' and ')}` : undefined;
}

export const postgresModule: DialectModule = {
  dialect,

  createDatabaseCommand(target) {
    const t = serverTarget(target);
    return `createdb -h ${t.host} -p ${t.port} -U ${t.user} ${t.database}`;
  },

  async connect(target, options: ConnectOptions = {}) {
    const { pg: driverPg } = await driver();
    const pool = new driverPg.Pool({
      ...serverConfig(target),
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
      types: typeParsers(driverPg),
      // Set by the server at connection start, for every transaction of the session: a write is refused
      // with "cannot execute ... in a read-only transaction".
      ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
      // pg waits for ever by default; with a timeout it destroys the socket when it expires.
      ...(options.connectTimeoutMs === undefined
        ? {}
        : { connectionTimeoutMillis: options.connectTimeoutMs }),
    });
    try {
      const client = await pool.connect();
      // Not returned to the pool: Kysely ends the pool only once it has run a query, so an idle probe
      // connection of a database opened but never used would outlive close().
      client.release(true);
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

  isMissingDatabase(error) {
    return errorCauses(error).some((e) => (e as { code?: unknown }).code === INVALID_CATALOG_NAME);
  },

  async createDatabaseAsRole(target, options = {}) {
    const server = serverTarget(target);
    let outcome: RoleDatabaseCreation = { created: true };
    // Connected to the maintenance database as the store's own role: never with the server's credentials.
    await withAdminClient(
      server,
      async (client) => {
        if (options.dryRun) {
          const role = await client.query<{ allowed: boolean }>(
            'select rolsuper or rolcreatedb as allowed from pg_roles where rolname = current_user',
          );
          if (role.rows[0]?.allowed !== true) outcome = createdbRefusal(server);
          return;
        }
        try {
          await client.query(`CREATE DATABASE ${quoteIdentifier(server.database)}`);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          // Another node adding the same store created it first: it is there, which is what was wanted.
          if (code === DUPLICATE_DATABASE) return;
          if (code === INSUFFICIENT_PRIVILEGE) outcome = createdbRefusal(server);
          else throw error;
        }
      },
      options.connectTimeoutMs,
    );
    return outcome;
  },

  async cloneDatabase(source, target) {
    if (source.kind !== 'postgres' || target.kind !== 'postgres' || !sameServer(source, target)) {
      return { cloned: false, reason: 'the two databases are not on one PostgreSQL server' };
    }
    return cloneByTemplate(source, target);
  },
};
