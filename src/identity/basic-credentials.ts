/**
 * `Basic` (any case), one or more spaces, and one base64 token with its padding, nothing before or after
 * it (RFC 7617): junk after the token, a second token or a stray character is not a credential.
 */
const BASIC_CREDENTIALS = /^Basic +((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/i;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses an `Authorization: Basic` header into name and password (the password may hold `:`, the name
 * may not); undefined unless the header is exactly one well-formed base64 token of UTF-8 text.
 */
export function parseBasicAuth(header: string | undefined): { name: string; password: string } | undefined {
  const token = header?.match(BASIC_CREDENTIALS)?.[1];
  if (!token) return undefined;
  let decoded: string;
  try {
    decoded = STRICT_UTF8.decode(Buffer.from(token, 'base64'));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
