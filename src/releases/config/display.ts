/**
 * How config values appear in the report: as TOML literals, with credentials masked. The report is printed
 * and kept in the journal, so a password must never reach it.
 */

const MASK = '***';
/** `scheme://user:password@host`: the password part. */
const URL_PASSWORD = /(\/\/[^:@/\s]*):[^@/\s]*@/g;
/** `?password=...` and the like in a URL's query. */
const QUERY_SECRET = /([?&;](?:password|passwd|pwd|pass|secret|token|key)=)[^&;\s]*/gi;
/**
 * Key names whose values are secrets whatever they look like: the secret word ends the name
 * (`ldap.bind_password`, `api_key`), so that `password_hash`, an algorithm's name, is not one.
 */
const SECRET_KEY =
  /(?:^|[._-])(?:password|passwd|pwd|secret|token|credentials?|(?:api|access|private|secret)[_-]?key)$/i;

/** The text with every URL password (and secret query parameter) replaced by `***`. */
export function maskCredentials(text: string): string {
  return text.replace(URL_PASSWORD, `$1:${MASK}@`).replace(QUERY_SECRET, `$1${MASK}`);
}

/** Whether a key's name says that its value is a secret (`ldap.bind_password`, `api_token`). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A known key's value for the report: the TOML literal with credentials masked. */
export function displayKnownValue(key: string, value: unknown): string {
  if (isSecretKey(key) && typeof value === 'string') return `"${MASK}"`;
  return maskCredentials(tomlLiteral(value));
}

/**
 * An unknown key's value for the report. Nothing is known about what it holds, so only numbers and booleans
 * are shown: any string (or structure holding strings) might be a password.
 */
export function displayUnknownValue(key: string, value: unknown): string {
  if (!isSecretKey(key) && (typeof value === 'number' || typeof value === 'boolean'))
    return tomlLiteral(value);
  return `(${describeType(value)}, not shown)`;
}

/**
 * A TOML literal for a scalar or array value. The one array of tables the formats hold, `[[registry.mounts]]`
 * (2.0 on), is written as an array of inline tables: the same value to a TOML reader, on one line.
 */
export function tomlLiteral(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value); // JSON's escapes are all valid in TOML
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : '-inf';
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `[${value.map(tomlLiteral).join(', ')}]`;
  if (isPlainTable(value)) {
    const pairs = Object.entries(value).map(([key, item]) => `${tomlKey(key)} = ${tomlLiteral(item)}`);
    return pairs.length === 0 ? '{}' : `{ ${pairs.join(', ')} }`;
  }
  throw new TypeError(`no TOML literal for ${describeType(value)}`);
}

/** A key as TOML writes it: bare when it may be, else quoted. */
export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** A table as a TOML parser gives it (smol-toml's have no prototype), not a Date or another class's object. */
function isPlainTable(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === null || prototype === Object.prototype;
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'object') return 'a table';
  return `a ${typeof value}`;
}
