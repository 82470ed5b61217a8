import { createHash, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '../../errors.js';

/** How a client proves itself at the token endpoint: a secret (confidential) or nothing but PKCE (public). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** What an admin registers (the API's body), checked by `checkRegistration`. */
export interface ClientRegistration {
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /** `confidential` gets a generated secret; `public` (a browser or native app) must use PKCE. */
  type: 'confidential' | 'public';
  /** For a confidential client: the secret in the Basic header (default) or in the form body. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** A first-party client's users are not asked for consent. */
  firstParty?: boolean;
}

/** The stored metadata (`oidc_clients.metadata`): oidc-provider's names, no secret. */
export interface StoredMetadata {
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  token_endpoint_auth_method: ClientAuthMethod;
  first_party: boolean;
}

const MAX_URIS = 20;
const MAX_URI_LENGTH = 2000;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The registration as stored, or BAD_REQUEST naming what is wrong. */
export function checkRegistration(registration: ClientRegistration): StoredMetadata {
  const name = registration.name.trim();
  if (!name || name.length > 200) throw bad('name must be 1 to 200 characters');
  if (registration.redirectUris.length === 0) throw bad('redirectUris must name at least one URI');
  for (const uri of [...registration.redirectUris, ...(registration.postLogoutRedirectUris ?? [])])
    checkRedirectUri(uri);
  if (registration.type === 'public' && registration.tokenEndpointAuthMethod)
    throw bad('a public client has no secret, so no tokenEndpointAuthMethod');
  return {
    client_name: name,
    redirect_uris: unique(registration.redirectUris, 'redirectUris'),
    post_logout_redirect_uris: unique(registration.postLogoutRedirectUris ?? [], 'postLogoutRedirectUris'),
    token_endpoint_auth_method:
      registration.type === 'public'
        ? 'none'
        : (registration.tokenEndpointAuthMethod ?? 'client_secret_basic'),
    first_party: registration.firstParty ?? false,
  };
}

/**
 * A redirect URI a code may be sent to: absolute, https (or http to this machine's loopback, for native apps
 * and development), with no fragment (RFC 6749 3.1.2) and no credentials.
 */
export function checkRedirectUri(uri: string): void {
  if (uri.length > MAX_URI_LENGTH) throw bad(`a redirect URI is longer than ${MAX_URI_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw bad(`${JSON.stringify(uri)} is not an absolute URI`);
  }
  if (url.hash || uri.includes('#')) throw bad(`${uri} has a fragment, which a redirect URI may not have`);
  if (url.username || url.password) throw bad(`${uri} carries credentials`);
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return;
  throw bad(`${uri} must be https (http only to localhost, 127.0.0.1 or [::1])`);
}

function unique(uris: string[], field: string): string[] {
  if (uris.length > MAX_URIS) throw bad(`${field} may name at most ${MAX_URIS} URIs`);
  return [...new Set(uris)];
}

function bad(message: string): TesseraError {
  return new TesseraError('BAD_REQUEST', `Invalid OpenID Connect client: ${message}.`);
}

/**
 * A confidential client's secret is stored as its SHA-256 only: it is 256 random bits, so a slow hash adds
 * nothing, and the provider compares what a client presents through `secretMatches`.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function secretMatches(presented: string, storedHash: string): boolean {
  const actual = Buffer.from(hashSecret(presented), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
