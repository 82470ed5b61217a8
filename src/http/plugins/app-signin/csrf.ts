import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CSRF_COOKIE, cookieValues } from './scope.js';

/** A fresh double-submit token: set as a cookie and put in the form, both must come back alike. */
export function newCsrfToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The form's token, when the request already carries one (so a page reloaded keeps its token). */
export function csrfCookie(request: FastifyRequest): string | undefined {
  const value = cookieValues(request.headers.cookie, CSRF_COOKIE)[0];
  return value && /^[A-Za-z0-9_-]{32}$/.test(value) ? value : undefined;
}

/**
 * Whether a form POST came from Tessera's own page (login CSRF: another site must not sign a browser in
 * as the attacker, nor sign it out). Two checks, each enough alone in a browser that supports it: the
 * browser's own `Sec-Fetch-Site` and `Origin` must say same origin when sent, and the double-submit token
 * of the form must equal the cookie's, which another site can neither read nor set (SameSite=Strict,
 * HttpOnly, and a sandboxed app page has an opaque origin).
 */
export function csrfPassed(request: FastifyRequest, formToken: unknown): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `${request.protocol}://${request.headers.host ?? ''}`) return false;
  const cookie = csrfCookie(request);
  if (!cookie || typeof formToken !== 'string') return false;
  const a = Buffer.from(cookie);
  const b = Buffer.from(formToken);
  return a.length === b.length && timingSafeEqual(a, b);
}
