import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type DatabaseTarget, redactDatabaseUrl } from '../../db/url.js';
import { TesseraError } from '../../errors.js';

/**
 * The database servers a tenant admin may point a JDBC store at: those the operator lists in
 * `userstores.allowed_hosts` (none by default). Hosts are compared by the addresses they resolve to, so
 * that `localhost`, `127.1` and `127.0.0.1` are one host, and every address the store's host resolves to
 * must be allowed. Without it, a tenant admin could create tables in any database the server's network
 * reaches with the credentials they guess.
 */
export async function assertHostAllowed(
  url: string,
  target: DatabaseTarget,
  allowedHosts: readonly string[],
): Promise<void> {
  // A file on this machine is no database host (assertSqliteInside keeps a tenant's files in its folder).
  if ('file' in target) return;
  const entries = allowedHosts
    .map(parseHostEntry)
    .filter((e) => e.port === undefined || e.port === target.port);
  const allowed = new Set((await Promise.all(entries.map((e) => addressesOf(e.host)))).flat());
  const addresses = await addressesOf(target.host);
  if (addresses.length > 0 && addresses.every((address) => allowed.has(address))) return;
  throw new TesseraError(
    'FORBIDDEN',
    // The API answers with the message alone: it says who can fix it, and where.
    `A tenant's user store may use only the database hosts the operator allows; ${redactDatabaseUrl(url)} is not on one of them. To allow it, the operator must add "${hostEntry(target.host)}" to userstores.allowed_hosts in conf/tessera.toml (or the super tenant's admin add the store).`,
    { hint: `Add "${hostEntry(target.host)}" to userstores.allowed_hosts in conf/tessera.toml.` },
  );
}

/** A host as an entry of `userstores.allowed_hosts` spells it (an IPv6 address in brackets). */
function hostEntry(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function parseHostEntry(entry: string): { host: string; port: number | undefined } {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(entry);
  const host = match?.[1] ?? match?.[2] ?? entry;
  return { host, port: match?.[3] === undefined ? undefined : Number(match[3]) };
}

/** Every address a host name resolves to (none when it does not resolve), in one spelling per address. */
async function addressesOf(host: string): Promise<string[]> {
  try {
    const found = isIP(host) ? [{ address: host }] : await lookup(host, { all: true, verbatim: true });
    return found.map(({ address }) => canonicalAddress(address));
  } catch {
    return [];
  }
}

/** `::ffff:127.0.0.1` is 127.0.0.1; `0:0:0:0:0:0:0:1` is `::1`. */
function canonicalAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIP(address) === 6) return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  return address;
}
