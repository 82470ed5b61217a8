import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The request as the provider must see it: the path below the issuer (what Koa routes on), the issuer's own
 * path as `originalUrl` (what it builds URLs from), and the public URL's host and scheme, never the client's
 * `Host` or `X-Forwarded-*`, so that every URL it writes is the configured issuer's. `prefixSegments` is how
 * many path segments the issuer takes in Tessera's URL space (`/oidc`: 1, `/t/{domain}/oidc`: 3).
 */
export function asIssuerRequest(
  raw: IncomingMessage & { originalUrl?: string },
  issuer: URL,
  prefixSegments: number,
): void {
  const url = raw.originalUrl ?? raw.url ?? '/';
  const at = url.indexOf('?');
  const path = at === -1 ? url : url.slice(0, at);
  const query = at === -1 ? '' : url.slice(at);
  const rest = `/${path
    .split('/')
    .slice(prefixSegments + 1)
    .join('/')}${query}`;
  raw.originalUrl = `${issuer.pathname}${rest === '/' ? '' : rest}`;
  raw.url = rest;
  raw.headers.host = issuer.host;
  raw.headers['x-forwarded-proto'] = issuer.protocol.slice(0, -1);
  delete raw.headers['x-forwarded-host'];
  delete raw.headers['x-forwarded-for'];
  delete raw.headers.forwarded;
}

/**
 * The URL a node is reached at when `server.public_url` is unset: its listen address and port (127.0.0.1 for
 * every address, as `tessera start` prints it).
 */
export function listenUrl(address: string | AddressInfo | null): string {
  if (address === null || typeof address === 'string') return 'http://localhost';
  const host =
    address.address === '0.0.0.0' || address.address === '::'
      ? '127.0.0.1'
      : address.family === 'IPv6'
        ? `[${address.address}]`
        : address.address;
  return `http://${host}:${address.port}`;
}
