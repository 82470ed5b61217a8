import { RESERVED_APP_NAMES } from '../../../webapps/app-name.js';
import type { SignInScope } from './scope.js';

const MAX_RETURN_LENGTH = 2048;
/**
 * Control characters (browsers drop tabs and newlines from URLs, so `/\t/evil.com` would become `//evil.com`),
 * and the backslash browsers read as a slash (`/\evil.com` is `//evil.com` to them).
 */
function unsafe(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}

/**
 * `value` if it is a path to one of the scope's apps, else `undefined` (an open redirect is refused):
 * only a path starting with a single `/` (never `//host`, a scheme or a backslash), inside the tenant's
 * `/t/{domain}/` (the super tenant's: not a reserved name such as `/api`, `/console` or `/t/`), with no
 * `.` or `..` segment, raw or percent-encoded, that a browser would resolve into another tenant.
 */
export function safeReturnPath(value: string | undefined, scope: SignInScope): string | undefined {
  if (!value || value.length > MAX_RETURN_LENGTH || unsafe(value)) return undefined;
  if (!value.startsWith('/') || value.startsWith('//')) return undefined;
  const pathname = value.split(/[?#]/, 1)[0] ?? '';
  if (!pathname.startsWith(scope.cookiePath)) return undefined;
  const segments = pathname.slice(scope.cookiePath.length).split('/');
  for (const segment of segments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('/') || unsafe(decoded)) return undefined;
  }
  const app = decodeURIComponent(segments[0] ?? '');
  // The sign-in pages themselves, or (for the super tenant) the server's own paths, are no app.
  if (app === '' || app.startsWith('.')) return undefined;
  if (scope.domain === undefined && RESERVED_APP_NAMES.has(app.toLowerCase())) return undefined;
  return value;
}
