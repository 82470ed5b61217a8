/** The same rules the server applies, checked before sending so the form can say what to fix. */

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const TENANT_DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})+$`);
const STORE_DOMAIN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const APP_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/;
const RESERVED_APP_NAMES = new Set(['api', 'console', 't', 'healthz', 'readyz', 'metrics', 'openapi.json']);
export const MIN_PASSWORD_LENGTH = 8;

export type Errors<K extends string> = Partial<Record<K, string>>;

export function required(value: string, what: string): string | undefined {
  return value.trim() ? undefined : `Enter ${what}.`;
}

export function tenantDomainProblem(domain: string): string | undefined {
  if (!domain) return 'Enter the tenant domain.';
  if (domain.length > 253 || !TENANT_DOMAIN.test(domain))
    return 'Use a lower-case DNS name such as acme.com.';
  if (domain === 'carbon.super') return 'carbon.super is the super tenant.';
  return undefined;
}

export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `At least ${MIN_PASSWORD_LENGTH} characters.`;
  return undefined;
}

export function storeDomainProblem(domain: string): string | undefined {
  if (!domain) return 'Enter the store domain.';
  if (!STORE_DOMAIN.test(domain)) return 'Letters, digits, _ and -, starting with a letter.';
  if (domain.toUpperCase() === 'PRIMARY') return 'PRIMARY is the built-in store.';
  return undefined;
}

export function appNameProblem(name: string): string | undefined {
  if (!name) return 'Enter the app name.';
  if (!APP_NAME.test(name) || name.length > 100) return 'Letters, digits, ., _ and -, at most 100.';
  if (RESERVED_APP_NAMES.has(name.toLowerCase())) return `"${name}" is reserved for the server.`;
  return undefined;
}

/** True when no message is set. */
export function valid<K extends string>(errors: Errors<K>): boolean {
  return Object.values(errors).every((message) => !message);
}

/** Comma- or space-separated names, trimmed, empty ones dropped. */
export function nameList(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map((name) => name.trim())
    .filter(Boolean);
}
