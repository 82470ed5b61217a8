import { Client, InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import { redactDatabaseUrl } from '../../db/url.js';
import { TesseraError } from '../../errors.js';
import type { LdapSettings } from './settings.js';

/** Where a directory is and how to reach it as the store's own (service) account. */
export interface LdapEndpoint {
  url: string;
  settings: Pick<LdapSettings, 'bindDn' | 'bindPassword' | 'timeoutMs'>;
}

/** A client that gives up connecting and waiting for answers after the store's timeout. */
export function newClient(endpoint: LdapEndpoint): Client {
  return new Client({
    url: endpoint.url,
    connectTimeout: endpoint.settings.timeoutMs,
    timeout: endpoint.settings.timeoutMs,
    // After the directory closed an idle connection, the next operation binds again as the service DN.
    autoRebind: true,
  });
}

/**
 * A client bound as the configured bind DN. Throws STORE_UNAVAILABLE when the directory does not answer
 * and BAD_REQUEST when it refuses the bind DN's credentials; messages never carry the password.
 */
export async function bindAsService(endpoint: LdapEndpoint): Promise<Client> {
  const client = newClient(endpoint);
  try {
    await client.bind(endpoint.settings.bindDn, endpoint.settings.bindPassword);
    return client;
  } catch (error) {
    await client.unbind().catch(() => {});
    if (error instanceof InvalidCredentialsError || error instanceof NoSuchObjectError) {
      throw new TesseraError(
        'BAD_REQUEST',
        `The LDAP server ${redactDatabaseUrl(endpoint.url)} refused the bind DN ${endpoint.settings.bindDn}: wrong DN or password.`,
        { hint: 'Check bind_dn and bind_password.' },
      );
    }
    throw directoryUnavailable(endpoint.url, error);
  }
}

/** Whether a failure means the directory could not be reached (as opposed to refusing one request). */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // ldapts reports a lost or refused connection as plain Errors with a system code, or as timeouts.
  const code = (error as NodeJS.ErrnoException).code;
  return (
    (typeof code === 'string' && /^E[A-Z]+$/.test(code)) ||
    /timeout|timed out|connection|socket|ECONNREFUSED|ECONNRESET|EPIPE/i.test(error.message)
  );
}

export function directoryUnavailable(url: string, error: unknown): TesseraError {
  return new TesseraError(
    'STORE_UNAVAILABLE',
    // The URL may carry credentials (ldap://user:password@host); messages reach logs and API answers.
    `The LDAP server ${redactDatabaseUrl(url)} is not available: ${reasonOf(error)}`,
    {
      hint: 'Check that the directory is running and the url is right.',
      cause: error,
    },
  );
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 0 ? message : 'no reason given';
}
