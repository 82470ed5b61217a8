/** What an app name may look like: it becomes one URL path segment and one folder name. */
const APP_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;

/** Top-level paths the server itself answers (README, Web applications); an app of that name would be shadowed or shadow them. */
export const RESERVED_APP_NAMES: ReadonlySet<string> = new Set([
  'api',
  'console',
  't',
  'healthz',
  'readyz',
  'metrics',
  'openapi.json',
  // The super tenant's OpenID Connect issuer (README, OpenID Connect); tenants' issuers are `/t/{domain}/oidc`.
  'oidc',
]);

/** Long names are refused: the router caps a path parameter at 100 characters. */
const MAX_APP_NAME_LENGTH = 100;

/**
 * Why `name` cannot be an app name, or `undefined` when it can. Reserved names are compared
 * case-insensitively so that `API` or `Console` cannot be confused with the server's own paths.
 */
export function appNameProblem(name: string): string | undefined {
  if (!APP_NAME_PATTERN.test(name)) return 'names must match ^[a-zA-Z0-9][a-zA-Z0-9._-]*$';
  if (name.length > MAX_APP_NAME_LENGTH) return `names are at most ${MAX_APP_NAME_LENGTH} characters`;
  if (RESERVED_APP_NAMES.has(name.toLowerCase())) return `"${name}" is reserved for the server`;
  return undefined;
}

export function isValidAppName(name: string): boolean {
  return appNameProblem(name) === undefined;
}
