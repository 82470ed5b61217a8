import { Kysely, MysqlDialect, type RawBuilder, sql } from 'kysely';
import type { ConnectionOptions } from 'mysql2';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { TesseraError } from '../../../errors.js';
import { insertInBatches } from '../../batch.js';
import {
  type ConnectOptions,
  type CopiedTable,
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

type ServerTarget = Exclude<DatabaseTarget, { kind: 'sqlite' }>;

// The wire protocol counts placeholders in 16 bits.
const MAX_PARAMETERS = 60_000;
/** The name MySQL and MariaDB give every primary key. */
const PRIMARY_KEY_INDEX = 'PRIMARY';
const BATCH_LIMITS = { maxParameters: MAX_PARAMETERS, maxRows: 5_000 };

type Mysql2 = typeof import('mysql2');
let loadedDriver: Promise<Mysql2> | undefined;

/**
 * mysql2, loaded when a MariaDB or MySQL database is first used: a process on SQLite or PostgreSQL (most
 * server starts and CLI commands) does not pay for loading it.
 */
function driver(): Promise<Mysql2> {
  loadedDriver ??= import('mysql2').then((module) => module.default ?? module);
  return loadedDriver;
}

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

// Error numbers: no such database; access denied to a database (whether it exists or not); a global
// privilege missing.
const ER_BAD_DB_ERROR = 1049;
const ER_DBACCESS_DENIED_ERROR = 1044;
const ER_SPECIFIC_ACCESS_DENIED_ERROR = 1227;

/** How every database Tessera creates is made, so that names compare byte for byte as on the other engines. */
const DATABASE_OPTIONS = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';

function errnoOf(error: unknown): unknown {
  return (error as { errno?: unknown }).errno;
}

/**
 * Whether the connected account may create `database`: CREATE granted globally or on a database pattern
 * that matches the name. Privileges that come through a MariaDB role are not seen here, so a dry run may
 * say no where creating would succeed.
 */
async function mayCreate(
  connection: Connection,
  database: string,
  [user, host]: [string, string],
): Promise<boolean> {
  // information_schema spells an account `'user'@'host'`.
  const grantee = `'${user}'@'${host}'`;
  const [rows] = await connection.query<RowDataPacket[]>(
    `select 1 from information_schema.user_privileges
     where privilege_type = 'CREATE' and grantee = ?
     union all
     select 1 from information_schema.schema_privileges
     where privilege_type = 'CREATE' and grantee = ? and ? like table_schema`,
    [grantee, grantee, database],
  );
  return rows.length > 0;
}

/** The connected account's user and host parts (`CURRENT_USER()`, the account the server matched). */
async function accountOf(connection: Connection): Promise<[string, string]> {
  const [rows] = await connection.query<RowDataPacket[]>('select current_user() as account');
  const account = String(rows[0]?.account ?? '');
  const at = account.lastIndexOf('@');
  return at < 0 ? [account, '%'] : [account.slice(0, at), account.slice(at + 1)];
}

/** An account without the CREATE privilege: an administrator creates the database and grants it to the account. */
function createRefusal(target: ServerTarget, [user, host]: [string, string]): RoleDatabaseCreation {
  const database = quoteIdentifier(target.database);
  return {
    created: false,
    reason: `${user}@${host} may not create it (or it exists and ${user}@${host} may not use it)`,
    command: shellCommand([
      'mariadb',
      '-h',
      target.host,
      '-P',
      String(target.port),
      '-u',
      'root',
      '-e',
      `CREATE DATABASE IF NOT EXISTS ${database} ${DATABASE_OPTIONS}; GRANT ALL ON ${database}.* TO ${quoteIdentifier(user)}@${quoteIdentifier(host)}`,
    ]),
  };
}

async function adminQuery(target: DatabaseTarget, statement: string): Promise<void> {
  const { createConnection } = await driver();
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

const crc32cSupport = new WeakMap<Kysely<unknown>, Promise<boolean>>();

/** MariaDB 10.8 and later have CRC-32C; MySQL and older MariaDB reverse the row for a second CRC instead. */
function hasCrc32c(db: Kysely<unknown>): Promise<boolean> {
  let known = crc32cSupport.get(db);
  if (!known) {
    known = sql`select crc32c('') as c`.execute(db).then(
      () => true,
      () => false,
    );
    crc32cSupport.set(db, known);
  }
  return known;
}

/** Where each connected Kysely instance points, so that a copy can tell whether two share a server. */
const targets = new WeakMap<Kysely<unknown>, DatabaseTarget>();

/**
 * Rows one `INSERT ... SELECT` moves: at least this many, and at most a twentieth of the table, so that a
 * large table reports progress twenty times without paying a statement's overhead every 10,000 rows (300
 * statements made a 3M-row copy half as slow again as one).
 */
const MIN_COPY_CHUNK_ROWS = 10_000;
const COPY_CHUNKS_PER_TABLE = 20;

/**
 * Copies a table with `INSERT ... SELECT` across two databases of the same server: the rows never leave
 * it. Tables keyed by a number go in ranges of that key of about a twentieth of the table each, others in one
 * statement. Foreign key and unique checks are off for the load: a copy of a consistent database, verified
 * afterwards.
 */
async function copyWithinServer(
  source: ServerTarget,
  target: Kysely<unknown>,
  table: CopiedTable,
  onBatch?: (rows: number, bytes: number) => void,
): Promise<number> {
  const list = sql.join(table.columns.map((c) => sql.ref(c)));
  const from = sql.table(`${source.database}.${table.name}`);
  const insert = (where: RawBuilder<unknown>) =>
    sql`insert into ${sql.table(table.name)} (${list}) select ${list} from ${from} ${where}`;
  return target.connection().execute(async (connection) => {
    await sql`set foreign_key_checks = 0, unique_checks = 0`.execute(connection);
    try {
      const key = table.primaryKey[0] as string;
      const bounds = await sql<{ low: unknown; high: unknown; n: number | string }>`
        select min(${sql.ref(key)}) as low, max(${sql.ref(key)}) as high, count(*) as n from ${from}`.execute(
        connection,
      );
      const { low, high, n } = bounds.rows[0] ?? { low: null, high: null, n: 0 };
      const rows = Number(n);
      if (rows === 0) return 0;
      const chunkRows = Math.max(MIN_COPY_CHUNK_ROWS, Math.ceil(rows / COPY_CHUNKS_PER_TABLE));
      if (typeof low !== 'number' || typeof high !== 'number' || rows <= chunkRows) {
        const result = await insert(sql``).execute(connection);
        onBatch?.(Number(result.numAffectedRows ?? 0), 0);
        return Number(result.numAffectedRows ?? 0);
      }
      const step = Math.max(1, Math.ceil(((high - low + 1) * chunkRows) / rows));
      let copied = 0;
      for (let start = low; start <= high; start += step) {
        const result = await insert(
          sql`where ${sql.ref(key)} >= ${start} and ${sql.ref(key)} < ${start + step}`,
        ).execute(connection);
        copied += Number(result.numAffectedRows ?? 0);
        onBatch?.(Number(result.numAffectedRows ?? 0), 0);
      }
      return copied;
    } finally {
      await sql`set foreign_key_checks = 1, unique_checks = 1`.execute(connection);
    }
  });
}

const dialect: Dialect = {
  kind: 'mysql',
  displayName: 'MySQL/MariaDB',
  transactionalDdl: false,
  blobType: 'longblob',
  largeTextType: 'mediumtext',
  // InnoDB for foreign keys and transactions; a binary collation compares names as the other engines do.
  withTableOptions: (table) =>
    table.modifyEnd(sql`ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`),
  fileCompanions: NO_FILE_COMPANIONS,

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
    return groupCatalogue(
      columns.rows.map((c) => ({
        table: c.table_name,
        name: c.column_name,
        type: c.type,
        nullable: c.nullable === 'YES',
        generated: c.extra.toLowerCase().includes('auto_increment'),
      })),
      indexes.rows.map((i) => ({
        table: i.table_name,
        name: i.index_name,
        columns: [i.column_name],
        unique: Number(i.non_unique) === 0,
        primary: i.index_name === PRIMARY_KEY_INDEX,
      })),
      references.rows.map((r) => ({
        table: r.table_name,
        constraint: r.constraint_name,
        columns: [r.column_name],
        referencedTable: r.referenced_table,
        referencedColumns: [r.referenced_column],
      })),
    );
  },

  async databaseSize(db) {
    const result = await sql<{ bytes: number | string | null }>`
      select sum(data_length + index_length) as bytes from information_schema.tables
      where table_schema = database()`.execute(db);
    return Number(result.rows[0]?.bytes ?? 0);
  },

  sessionWitness: 'the process list',

  async databaseIdentity(db) {
    // MySQL's @@server_uuid has no MariaDB equivalent readable by every user; the machine's name, the port
    // and the data directory tell one server from another on both.
    const result = await sql<{ host: string; port: number | string; datadir: string; database: string }>`
      select @@hostname as host, @@port as port, @@datadir as datadir, database() as \`database\``.execute(
      db,
    );
    const row = result.rows[0];
    if (!row) throw new Error('the server variables query returned no row');
    return `mysql:${row.host}:${row.port}:${row.datadir}:${row.database}`;
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

  async nextIdentity(db, table) {
    const result = await sql<{ next: number | string | null }>`
      select auto_increment as next from information_schema.tables
      where table_schema = database() and table_name = ${table}`.execute(db);
    const next = result.rows[0]?.next;
    return next === null || next === undefined ? undefined : Number(next);
  },

  async setNextIdentity(db, table, _column, next) {
    // InnoDB never sets it below the largest id + 1, which is the rule asked for. DDL takes no placeholders;
    // `next` is a number read from the other server.
    await sql`alter table ${sql.table(table)} auto_increment = ${sql.lit(Math.trunc(next))}`.execute(db);
  },

  async tableDigest(db, table, columns, options = {}) {
    // Each value length-prefixed (NULL apart), so that no two different rows read alike; two independent
    // 32-bit CRCs of each row summed (as DECIMAL, which cannot overflow), so that only numbers come back.
    const row = sql`concat(${sql.join(
      columns.map((c) => sql`coalesce(concat(length(${sql.ref(c)}), ':', ${sql.ref(c)}), 'N')`),
    )})`;
    const crc32c = options.portable !== true && (await hasCrc32c(db));
    const second = crc32c ? sql`crc32c(${row})` : sql`crc32(reverse(${row}))`;
    const result = await sql<{ n: number | string; first: string | null; second: string | null }>`
      select count(*) as n, cast(sum(crc32(${row})) as char) as first, cast(sum(${second}) as char) as second
      from ${sql.table(table)}`.execute(db);
    const first = result.rows[0];
    return {
      rows: Number(first?.n ?? 0),
      digest: `${crc32c ? 'mysql-crc32c-sums' : 'mysql-crc-sums'}:${first?.first ?? '0'}:${first?.second ?? '0'}`,
    };
  },

  nativeCopy: {
    scope: 'table',
    method: 'MariaDB/MySQL INSERT ... SELECT between two databases of one server',
    async copy(source, target, table, onBatch) {
      const from = targets.get(source);
      const to = targets.get(target);
      if (from?.kind !== 'mysql' || to?.kind !== 'mysql' || !sameServer(from, to)) return undefined;
      return copyWithinServer(from, target, table, onBatch);
    },
  },

  async trustedCopySkipsForeignKeys() {
    // foreign_key_checks is a session variable any user may set.
    return true;
  },

  readConsistently(db, work) {
    // InnoDB reads of a REPEATABLE READ transaction all come from the snapshot of its first read.
    return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(work);
  },
};

export const mysqlModule: DialectModule = {
  dialect,

  createDatabaseCommand(target) {
    if (target.kind === 'sqlite') throw new Error('mysql dialect given a file target');
    const t = target;
    return `mysql -h ${t.host} -P ${t.port} -u ${t.user} -e 'CREATE DATABASE \`${t.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'`;
  },

  async connect(target, options: ConnectOptions = {}) {
    const { createPool } = await driver();
    const pool = createPool({
      ...serverConfig(target, true),
      connectionLimit: options.poolSize ?? DEFAULT_POOL_SIZE,
      // mysql2 destroys the socket when its connect timeout (10 s by default) expires before the handshake.
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeout: options.connectTimeoutMs }),
    });
    if (options.readOnly) {
      // Queued ahead of anything else on each new connection: every later transaction of the session,
      // autocommitted statements included, refuses writes ("Cannot execute statement in a READ ONLY
      // transaction").
      pool.on('connection', (connection) => {
        connection.query('SET SESSION TRANSACTION READ ONLY');
      });
    }
    try {
      const probe = await pool.promise().getConnection();
      // Not returned to the pool: Kysely ends the pool only once it has run a query, so an idle probe
      // connection of a database opened but never used would outlive close().
      probe.destroy();
    } catch (error) {
      await pool
        .promise()
        .end()
        .catch(() => {});
      throw connectFailed(target, error);
    }
    const db = new Kysely<unknown>({ dialect: new MysqlDialect({ pool }) });
    targets.set(db, target);
    return db;
  },

  async createDatabase(target) {
    if (target.kind !== 'mysql') throw new Error('mysql dialect given another target');
    await adminQuery(target, `CREATE DATABASE ${quoteIdentifier(target.database)} ${DATABASE_OPTIONS}`);
  },

  async dropDatabase(target) {
    if (target.kind !== 'mysql') throw new Error('mysql dialect given another target');
    await adminQuery(target, `DROP DATABASE IF EXISTS ${quoteIdentifier(target.database)}`);
  },

  isMissingDatabase(error) {
    return errorCauses(error).some((e) =>
      [ER_BAD_DB_ERROR, ER_DBACCESS_DENIED_ERROR].includes(errnoOf(e) as number),
    );
  },

  async createDatabaseAsRole(target, options = {}) {
    if (target.kind !== 'mysql') throw new Error('mysql dialect given another target');
    // Connected without a database, as the store's own account: never with the server's credentials.
    const { createConnection } = await driver();
    const connection = createConnection({
      ...serverConfig(target, false),
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeout: options.connectTimeoutMs }),
    }).promise();
    try {
      const account = await accountOf(connection).catch((error: unknown) => {
        throw connectFailed(target, error);
      });
      if (options.dryRun) {
        return (await mayCreate(connection, target.database, account))
          ? { created: true }
          : createRefusal(target, account);
      }
      try {
        // IF NOT EXISTS: another node adding the same store may have created it first.
        await connection.query(
          `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(target.database)} ${DATABASE_OPTIONS}`,
        );
      } catch (error) {
        const errno = errnoOf(error);
        if (errno === ER_DBACCESS_DENIED_ERROR || errno === ER_SPECIFIC_ACCESS_DENIED_ERROR)
          return createRefusal(target, account);
        throw error;
      }
      return { created: true };
    } finally {
      await connection.end().catch(() => {});
    }
  },
};
