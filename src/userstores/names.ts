import { TesseraError } from '../errors.js';
import { SUPER_TENANT_DOMAIN } from '../home/layout.js';

export const PRIMARY_DOMAIN = 'PRIMARY';

/** A user name as written in the API: `[STORE/]name[@tenant-domain]` (README, Admin API). */
export interface QualifiedName {
  store: string;
  name: string;
  tenantDomain: string;
}

const STORE_DOMAIN = /^[A-Z][A-Z0-9_-]{0,63}$/;
const USERNAME = /^[A-Za-z0-9._-][A-Za-z0-9._+-]{0,254}$/;
/** `isAccountName`'s rule, as refusals state it. */
export const ACCOUNT_NAME_RULE = 'use letters, digits and . _ - + only';

export function isStoreDomain(value: string): boolean {
  return STORE_DOMAIN.test(value);
}

/** A user or role name inside a store (roles follow the same rule because the API parses both alike). */
export function isAccountName(value: string): boolean {
  return USERNAME.test(value);
}

/**
 * Splits `SECONDARY/alice@acme.com`. The tenant is what follows the last `@` when that is a known tenant
 * domain shape; a name without `@` belongs to the super tenant.
 */
export function parseQualifiedName(raw: string, defaultTenant = SUPER_TENANT_DOMAIN): QualifiedName {
  let rest = raw;
  let store = PRIMARY_DOMAIN;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    store = rest.slice(0, slash).toUpperCase();
    rest = rest.slice(slash + 1);
    if (!isStoreDomain(store)) throw badName(raw, 'the store prefix is not a store domain name');
  }
  let tenantDomain = defaultTenant;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    tenantDomain = rest.slice(at + 1).toLowerCase();
    rest = rest.slice(0, at);
  }
  if (!USERNAME.test(rest)) throw badName(raw, ACCOUNT_NAME_RULE);
  return { store, name: rest, tenantDomain };
}

/**
 * A user or role name inside a known tenant: `[STORE/]name`, optionally followed by `@` and that same
 * tenant's domain (so `alice@acme.com` is accepted in acme.com's paths, and refused in others').
 */
export function parseStoreName(raw: string, tenantDomain: string): { store: string; name: string } {
  const parsed = parseQualifiedName(raw, tenantDomain);
  if (parsed.tenantDomain !== tenantDomain)
    throw badName(raw, `it names tenant ${parsed.tenantDomain}, not ${tenantDomain}`);
  return { store: parsed.store, name: parsed.name };
}

export function displayName(store: string, name: string): string {
  return store === PRIMARY_DOMAIN ? name : `${store}/${name}`;
}

/** The name when it is a valid user or role name; a BAD_REQUEST saying the rule otherwise. */
export function checkAccountName(name: string, what: 'user' | 'role'): string {
  if (typeof name !== 'string' || !isAccountName(name)) {
    throw new TesseraError(
      'BAD_REQUEST',
      `"${String(name)}" is not a valid ${what} name: ${ACCOUNT_NAME_RULE}.`,
    );
  }
  return name;
}

/** A CONFLICT naming the account as the API takes it (`STAFF/dave`), the way the caller typed it. */
export function accountConflict(what: 'user' | 'role', store: string, name: string): TesseraError {
  return new TesseraError('CONFLICT', `A ${what} named ${displayName(store, name)} already exists.`);
}

function badName(raw: string, why: string): TesseraError {
  return new TesseraError('BAD_REQUEST', `"${raw}" is not a valid user or role name: ${why}.`);
}
