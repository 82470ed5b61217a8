import type { Logger } from 'pino';
import { redactDatabaseUrl } from '../../db/url.js';
import { TesseraError } from '../../errors.js';
import { LdapUserStore } from '../ldap/store.js';
import type { StoreConnections } from '../sql/connections.js';
import { SqlUserStore } from '../sql/sql-store.js';
import type { StoreDescription, UserStore } from '../types.js';
import { parseStoreFile, type StoreDefinition } from './store-file.js';

/** A secondary store file as loaded: the store when it is up, the reason when it is not. */
export interface LoadedStore {
  /** The domain the file's name claims (its key in the tenant's stores). */
  domain: string;
  file: string;
  /** The text it was loaded from, to tell a real change from a touch. */
  text: string;
  description: StoreDescription;
  store: UserStore | undefined;
  /** Its database could not be opened: worth another try later, unlike a broken file. */
  retryable: boolean;
  /**
   * The error is what the database or directory answered (host and port refused, timeout, a refused bind):
   * for the super tenant's admin only, as with the probe (`describeFor`), so that a tenant admin cannot
   * map the server's network through a store's status.
   */
  reachFailure?: boolean;
  /**
   * When set, the periodic rescan leaves the store alone until then (Date.now() ms): an LDAP directory
   * that is down is tried again with exponential backoff rather than every few seconds by every node.
   */
  retryAt?: number | undefined;
  /** Failed loads in a row of this same text, which the backoff grows with. */
  failures?: number | undefined;
}

/** The backoff of an unreachable LDAP directory: 5 s after the first failure, doubling up to 5 min. */
export const LDAP_RETRY_MIN_MS = 5_000;
export const LDAP_RETRY_MAX_MS = 5 * 60_000;

export function ldapRetryDelayMs(failures: number): number {
  return Math.min(LDAP_RETRY_MIN_MS * 2 ** Math.max(0, failures - 1), LDAP_RETRY_MAX_MS);
}

export interface LoadContext {
  tenantId: number;
  connections: StoreConnections;
  logger: Logger;
  /** The reason the previous load of this file failed: the same failure again is not logged again. */
  previousError?: string | undefined;
  /** How many loads of this same text failed in a row before this one. */
  previousFailures?: number | undefined;
  /** While true, a login writes nothing to a JDBC store (see `UserStoreManagerOptions`). */
  loginWritesSkipped?: (() => boolean) | undefined;
}

/** Loads one store file. Never throws: whatever goes wrong becomes the store's `error` status, and is logged. */
export async function loadStoreFile(
  context: LoadContext,
  domain: string,
  file: string,
  text: string,
): Promise<LoadedStore> {
  const { tenantId, logger } = context;
  const warn = (fields: Record<string, unknown>, reason: string, message: string) => {
    if (reason === context.previousError) logger.debug(fields, message);
    else logger.warn(fields, message);
  };
  const parsed = parseStoreFile(text, file);
  if (!parsed.ok) {
    warn(
      { tenantId, store: domain, file, reason: parsed.error },
      parsed.error,
      'user store definition is not valid',
    );
    return failed(domain, file, text, describeDefinition(domain, parsed.partial), parsed.error, false);
  }
  const definition = parsed.definition;
  const description = describeDefinition(domain, definition);
  if (definition.type === 'ldap') return loadLdapStore(context, domain, file, text, definition, warn);
  try {
    const lease = await context.connections.acquire(definition.url);
    // A database the server must not write makes the store read-only whatever its file says: writes are
    // refused with READ_ONLY_STORE, and a legacy hash is verified but not re-hashed.
    const readOnly = definition.readOnly || lease.readOnly;
    const store = new SqlUserStore({
      db: lease.database.db,
      tenantId,
      domain,
      kind: 'jdbc',
      readOnly,
      onClose: () => lease.release(),
      loginWritesSkipped: context.loginWritesSkipped,
    });
    logger.info({ tenantId, store: domain, url: description.url, readOnly }, 'user store loaded');
    return {
      domain,
      file,
      text,
      description: { ...description, readOnly, status: 'up' },
      store,
      retryable: false,
    };
  } catch (error) {
    // The database layer's messages name host, port and database, never the password.
    const reason = error instanceof Error ? error.message : String(error);
    warn(
      { tenantId, store: domain, url: description.url, reason },
      reason,
      'user store database is not available',
    );
    // The definition's own refusals (a bad URL, the server's own database, a database that is not a store)
    // say what to fix; anything else is the driver's reason.
    const refusal = error instanceof TesseraError && DEFINITION_REFUSALS.has(error.code);
    // A refusal is not tried again until the file changes: telling the server's own database under another
    // name takes a connection, which every node's rescan would open every few seconds.
    // A database the role may not create is retried (an administrator may create it meanwhile), and its
    // message (the command to create it) is everyone's to read.
    const missing = error instanceof TesseraError && error.code === 'DATABASE_MISSING';
    return {
      ...failed(domain, file, text, description, reason, !refusal),
      reachFailure: !refusal && !missing,
    };
  }
}

const DEFINITION_REFUSALS: ReadonlySet<string> = new Set(['BAD_REQUEST', 'DB_URL_INVALID', 'FORBIDDEN']);

type Warn = (fields: Record<string, unknown>, reason: string, message: string) => void;

async function loadLdapStore(
  context: LoadContext,
  domain: string,
  file: string,
  text: string,
  definition: StoreDefinition,
  warn: Warn,
): Promise<LoadedStore> {
  const { tenantId, logger } = context;
  const description = describeDefinition(domain, definition);
  if (definition.ldap === undefined) {
    // parseStoreFile always reads the settings of an ldap file; this only guards the type.
    return failed(domain, file, text, description, 'The LDAP settings are missing.', false);
  }
  try {
    const store = await LdapUserStore.open({
      domain,
      url: definition.url,
      settings: definition.ldap,
      readOnly: definition.readOnly,
    });
    logger.info(
      { tenantId, store: domain, url: description.url, readOnly: definition.readOnly },
      'user store loaded',
    );
    return { domain, file, text, description: { ...description, status: 'up' }, store, retryable: false };
  } catch (error) {
    // Messages name the URL, bind DN and bases, never the bind password.
    const reason = error instanceof Error ? error.message : String(error);
    // Only a directory that could not be reached is tried again. A refused bind is not: every node trying
    // the wrong password every few seconds would trip the directory's lockout policy and lock the service
    // account; nor is a missing search base. Changing the file reloads the store anyway.
    const retryable = error instanceof TesseraError && error.code === 'STORE_UNAVAILABLE';
    warn(
      { tenantId, store: domain, url: description.url, reason, retried: retryable },
      reason,
      retryable
        ? 'user store directory is not available'
        : 'user store directory refused the definition; change the file to try again',
    );
    // Every failure here is the directory's answer (unreachable, a refused bind, a missing base).
    const loaded = { ...failed(domain, file, text, description, reason, retryable), reachFailure: true };
    if (!retryable) return loaded;
    const failures = (context.previousFailures ?? 0) + 1;
    return { ...loaded, failures, retryAt: Date.now() + ldapRetryDelayMs(failures) };
  }
}

function describeDefinition(domain: string, definition: Partial<StoreDefinition>): StoreDescription {
  const description: StoreDescription = {
    domain,
    // A file too broken to say its type is shown as JDBC, the kind a store is most often.
    type: definition.type ?? 'jdbc',
    readOnly: definition.readOnly ?? false,
    status: 'error',
  };
  if (definition.url !== undefined) description.url = redactDatabaseUrl(definition.url);
  if (definition.description !== undefined) description.description = definition.description;
  return description;
}

function failed(
  domain: string,
  file: string,
  text: string,
  description: StoreDescription,
  reason: string,
  retryable: boolean,
): LoadedStore {
  return {
    domain,
    file,
    text,
    description: { ...description, status: 'error', error: reason },
    store: undefined,
    retryable,
  };
}
