import { PRIMARY_DOMAIN } from '../../../userstores/names.js';
import { KEY_HEADER, REQUEST_ID_HEADER } from '../../../webapps/runtime/contract.js';

/**
 * Headers that describe one connection, not the message (RFC 9110 7.6.1): a proxy never forwards them.
 * `proxy-connection` is the pre-standard spelling some clients still send.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
]);

/**
 * Client headers the app must never see (DESIGN.md section 4): Basic carries the user's password, Bearer the
 * console's token; `expect` is answered by Node's server before the handler runs (and undici refuses it);
 * the forwarding and id headers are Tessera's to set, not the client's.
 */
const WITHHELD: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'expect',
  'x-forwarded-prefix',
  'x-forwarded-proto',
  REQUEST_ID_HEADER,
]);

/** Never dropped because `Connection` names them: the app needs the client's Host and the body's length. */
const FRAMING: ReadonlySet<string> = new Set(['host', 'content-length']);

/** The signed-in user as the app learns it. */
export interface AppUser {
  /** The name inside the tenant, store prefix included (`SECONDARY/alice`). */
  readonly name: string;
  readonly store: string;
  readonly roles: readonly string[];
}

/** What Tessera tells the app about one request, beside the client's own headers. */
export interface ForwardFacts {
  /** The app's mount (`/t/acme.com/shop`): `X-Forwarded-Prefix`. */
  readonly mount: string;
  readonly proto: 'http' | 'https';
  readonly clientAddress: string | undefined;
  readonly tenantDomain: string;
  readonly user: AppUser | undefined;
  readonly key: string;
  readonly requestId: string;
  /** A WebSocket (or other) upgrade: `Connection: Upgrade` and the client's `Upgrade` go on. */
  readonly upgrade: boolean;
}

/**
 * The headers sent to the app, as raw name/value pairs (so repeated headers stay apart and keep their
 * spelling), from the client's `rawHeaders`.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], facts: ForwardFacts): string[] {
  const named = connectionTokens(rawHeaders);
  const out: string[] = [];
  const forwardedFor: string[] = [];
  let upgrade: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'upgrade') upgrade ??= value;
    if (HOP_BY_HOP.has(lower) || (named.has(lower) && !FRAMING.has(lower))) continue;
    if (WITHHELD.has(lower) || lower.startsWith('x-tessera-')) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor.push(value);
      continue;
    }
    if (lower === 'cookie') {
      const kept = withoutTesseraCookies(value);
      if (kept) out.push(name, kept);
      continue;
    }
    out.push(name, value);
  }
  if (facts.clientAddress) forwardedFor.push(facts.clientAddress);
  if (forwardedFor.length > 0) out.push('x-forwarded-for', forwardedFor.join(', '));
  out.push('x-forwarded-proto', facts.proto, 'x-forwarded-prefix', facts.mount);
  out.push('x-tessera-tenant', facts.tenantDomain);
  if (facts.user) {
    out.push('x-tessera-user', facts.user.name, 'x-tessera-store', facts.user.store);
    out.push('x-tessera-roles', facts.user.roles.join(','));
  }
  out.push(KEY_HEADER, facts.key, REQUEST_ID_HEADER, facts.requestId);
  if (facts.upgrade && upgrade !== undefined) out.push('connection', 'Upgrade', 'upgrade', upgrade);
  return out;
}

/** A response header value as undici gives it: repeated headers as arrays. */
export type HeaderValue = string | string[];

/**
 * The app's response headers as the client gets them: connection headers dropped, Tessera's cookies never
 * set by the app, a redirect to an absolute path kept inside the app's mount, and the sandbox CSP added
 * beside any the app sets (every CSP a response carries is enforced, so the app can only tighten it).
 */
export function clientResponseHeaders(
  headers: Readonly<Record<string, HeaderValue | undefined>>,
  mount: string,
  sandboxCsp: string,
): Record<string, HeaderValue> {
  const named = new Set<string>();
  for (const value of values(headers.connection)) for (const token of tokens(value)) named.add(token);
  const out: Record<string, HeaderValue> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (named.has(lower) && !FRAMING.has(lower))) continue;
    if (lower === 'set-cookie') {
      const kept = values(value).filter((cookie) => !isTesseraCookie(cookie.split('=', 1)[0] ?? ''));
      if (kept.length > 0) out[lower] = kept;
      continue;
    }
    if (lower === 'location' && typeof value === 'string') {
      out[lower] = locationBelowMount(value, mount);
      continue;
    }
    out[lower] = value;
  }
  out['content-security-policy'] = [...values(out['content-security-policy']), sandboxCsp];
  return out;
}

/**
 * An app redirecting to `/cart` means its own `/cart`: the mount is put in front. Paths already under the
 * mount, full URLs and scheme-relative ones (`//host`, and `/\host`, which browsers read alike) are left.
 */
export function locationBelowMount(location: string, mount: string): string {
  if (!location.startsWith('/') || location.startsWith('//') || location.startsWith('/\\')) return location;
  const rest = location.slice(mount.length);
  if (location.startsWith(mount) && (rest === '' || /^[/?#]/.test(rest))) return location;
  return `${mount}${location}`;
}

/** The user headers for a principal's name inside its tenant (`SECONDARY/alice`, or `alice` in PRIMARY). */
export function appUser(nameInTenant: string, roles: readonly string[], store?: string): AppUser {
  const slash = nameInTenant.indexOf('/');
  return {
    name: nameInTenant,
    store: store ?? (slash > 0 ? nameInTenant.slice(0, slash).toUpperCase() : PRIMARY_DOMAIN),
    roles,
  };
}

/** `Cookie: a=1; tessera_session=x; b=2` without the `tessera*` ones (any case), or '' if none is left. */
export function withoutTesseraCookies(header: string): string {
  return header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '' && !isTesseraCookie(pair.split('=', 1)[0] ?? ''))
    .join('; ');
}

function isTesseraCookie(name: string): boolean {
  return name.trim().toLowerCase().startsWith('tessera');
}

/** The header names listed in the client's `Connection` headers (lower case). */
function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() !== 'connection') continue;
    for (const token of tokens(rawHeaders[i + 1] as string)) named.add(token);
  }
  return named;
}

function tokens(value: string): string[] {
  return value
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '');
}

function values(value: HeaderValue | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
