import { type Database, dialectModule, openDatabase } from '../../db/connection.js';
import type { ConnectOptions, RoleDatabaseCreation } from '../../db/dialect.js';
import { type DatabaseTarget, describeTarget, parseDatabaseUrl, redactDatabaseUrl } from '../../db/url.js';
import { TesseraError } from '../../errors.js';

/**
 * A JDBC store's database on PostgreSQL or MariaDB is created on first use, as a SQLite store's file is.
 *
 * Who may get one created: whoever may add the store. Creating happens only after the store's URL passed
 * every check an opening does (a tenant admin's host is in `userstores.allowed_hosts`; the URL does not
 * name the server's own database), and only with the credentials written in the store's URL, never with
 * the server's: the database server itself decides whether that role may create databases. What gets
 * created is a new, empty database under a name that did not exist, so it cannot be the server's own
 * database nor hold anyone's tables; a tenant admin may thus get one created on any allowed host, the
 * server's own database server included when the operator allowed it. The server's own database and a
 * database holding other tables are still refused once connected (store-database.ts).
 */

/**
 * Opens the store database of `url`, creating it first when it does not exist and the URL's role may.
 * Throws DATABASE_MISSING, with the command that creates it, when the role may not.
 */
export async function openCreatingDatabase<S>(
  url: string,
  home: string,
  options: ConnectOptions,
): Promise<Database<S>> {
  try {
    return await openDatabase<S>(url, home, options);
  } catch (error) {
    const target = parseDatabaseUrl(url, home);
    const module = dialectModule(target.kind);
    if (module.createDatabaseAsRole === undefined || module.isMissingDatabase?.(error) !== true) throw error;
    const creation = await createAsRole(url, target, options);
    if (!creation.created) throw databaseMissing(url, target, creation);
    return openDatabase<S>(url, home, options);
  }
}

/**
 * For a probe, which changes nothing: undefined when `error` (from opening `url`) is not a missing database,
 * else whether adding the store would create it (`{created: true}`) or be refused (`{created: false}`).
 */
export async function missingDatabaseOutcome(
  url: string,
  home: string,
  error: unknown,
  options: ConnectOptions,
): Promise<{ created: true } | { created: false; refusal: TesseraError } | undefined> {
  const target = parseDatabaseUrl(url, home);
  const module = dialectModule(target.kind);
  if (module.createDatabaseAsRole === undefined || module.isMissingDatabase?.(error) !== true)
    return undefined;
  const creation = await createAsRole(url, target, { ...options, dryRun: true });
  return creation.created ? creation : { created: false, refusal: databaseMissing(url, target, creation) };
}

async function createAsRole(
  url: string,
  target: DatabaseTarget,
  options: ConnectOptions & { dryRun?: boolean },
): Promise<RoleDatabaseCreation> {
  const create = dialectModule(target.kind).createDatabaseAsRole;
  if (create === undefined) throw new Error(`${target.kind} databases are not created on first use`);
  try {
    return await create(target, options);
  } catch (error) {
    if (error instanceof TesseraError) throw error;
    throw new TesseraError(
      'DB_CONNECT_FAILED',
      `Cannot create the user store database ${redactDatabaseUrl(url)}: ${error instanceof Error ? error.message : String(error)}`,
      { hint: 'Create the database yourself, then add the store again.', cause: error },
    );
  }
}

function databaseMissing(
  url: string,
  target: DatabaseTarget,
  creation: Extract<RoleDatabaseCreation, { created: false }>,
): TesseraError {
  const where = describeTarget(target);
  // The command is in the message itself: the API answers with the message only.
  return new TesseraError(
    'DATABASE_MISSING',
    `The user store database ${where} (${redactDatabaseUrl(url)}) does not exist and ${creation.reason}. Have the database's administrator create it for that role, then try again: ${creation.command}`,
    { hint: `Create the database: ${creation.command}` },
  );
}
