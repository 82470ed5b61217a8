import { NoSuchObjectError } from 'ldapts';
import { TesseraError } from '../../errors.js';
import { bindAsService, directoryUnavailable, isConnectionFailure } from './client.js';
import type { LdapSettings } from './settings.js';

/**
 * Checks that an LDAP store can work before it is saved: the directory answers, accepts the bind DN, and
 * has both search bases. Throws BAD_REQUEST for what the definition gets wrong and STORE_UNAVAILABLE when
 * the directory cannot be reached; messages never carry the bind password.
 */
export async function verifyLdapDirectory(url: string, settings: LdapSettings | undefined): Promise<void> {
  if (settings === undefined)
    throw new TesseraError('BAD_REQUEST', 'An LDAP user store needs its bind DN and search bases.');
  const client = await bindAsService({ url, settings });
  try {
    for (const [key, base] of [
      ['user_search_base', settings.userSearchBase],
      ['group_search_base', settings.groupSearchBase],
    ] as const) {
      try {
        await client.search(base, { scope: 'base', attributes: ['1.1'] });
      } catch (error) {
        if (error instanceof NoSuchObjectError) {
          throw new TesseraError(
            'BAD_REQUEST',
            `The ${key} ${base} does not exist in the directory (or the bind DN cannot see it).`,
          );
        }
        if (isConnectionFailure(error)) throw directoryUnavailable(url, error);
        throw new TesseraError(
          'BAD_REQUEST',
          `Cannot read the ${key} ${base}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  } finally {
    await client.unbind().catch(() => {});
  }
}
