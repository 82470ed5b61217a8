/** The app-session cookie (README, Signing in to apps); `tessera*` cookies never reach an app (headers.ts). */
export const SESSION_COOKIE = 'tessera_app_session';
/** The sign-in and sign-out forms' double-submit token. */
export const CSRF_COOKIE = 'tessera_signin_csrf';
/** A request never carries more session cookies than this worth trying (the tenant's and the super tenant's). */
const MAX_SESSION_COOKIES = 4;

/**
 * Where a tenant's sign-in lives and what its cookie covers. A tenant's apps all sit below `/t/{domain}/`,
 * so its cookie is scoped there and another tenant's pages never receive it. The super tenant's apps sit
 * at `/{app}/`, side by side with `/api` and `/console`: no path covers them all but `/`, so its cookie is
 * scoped `/`. The admin API and the console never read it (they take only `Authorization`), it is HttpOnly
 * (no script of the console's origin reads it) and it is removed from what apps receive.
 */
export interface SignInScope {
  /** The tenant's domain from the URL; `undefined` for the super tenant. */
  readonly domain: string | undefined;
  /** The apps' common prefix without the trailing slash: `/t/acme.com`, or '' for the super tenant. */
  readonly base: string;
  /** The session cookie's `Path`. */
  readonly cookiePath: string;
  /** Where the sign-in pages are: `/t/acme.com/.tessera`, `/.tessera`. */
  readonly pages: string;
}

export function signInScope(domain: string | undefined): SignInScope {
  const base = domain === undefined ? '' : `/t/${encodeURIComponent(domain)}`;
  return { domain, base, cookiePath: `${base}/`, pages: `${base}/.tessera` };
}

/** The sign-in page for a browser that asked for `returnTo` without a session. */
export function signInLocation(scope: SignInScope, returnTo: string): string {
  return `${scope.pages}/sign-in?return=${encodeURIComponent(returnTo)}`;
}

/** Every value of cookie `name` in a `Cookie` header (the most specific path first, as browsers send them). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const found: string[] = [];
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim() !== name) continue;
    const value = pair.slice(equals + 1).trim();
    if (value !== '') found.push(value);
    if (found.length >= MAX_SESSION_COOKIES) break;
  }
  return found;
}

export interface CookieOptions {
  path: string;
  /** The request came over TLS: the cookie is then never sent over plain HTTP. */
  secure: boolean;
  sameSite: 'Lax' | 'Strict';
  /** Seconds; 0 clears the cookie. Absent: a browser-session cookie. */
  maxAge?: number;
}

/** One `Set-Cookie` value; always HttpOnly. Values are base64url tokens, which need no quoting. */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${options.path}`, 'HttpOnly', `SameSite=${options.sameSite}`];
  if (options.secure) parts.push('Secure');
  if (options.maxAge !== undefined) parts.push(`Max-Age=${options.maxAge}`);
  return parts.join('; ');
}
