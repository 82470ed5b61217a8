import { TesseraError } from '../errors.js';
import { SUPER_TENANT_DOMAIN } from '../home/layout.js';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const TENANT_DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})+$`);

/** Checks a new tenant's domain: a lower-case DNS name with at least two labels, not the super tenant's. */
export function validateTenantDomain(domain: string): string {
  if (domain.length > 253 || !TENANT_DOMAIN.test(domain)) {
    throw new TesseraError(
      'BAD_REQUEST',
      `"${domain}" is not a valid tenant domain: use a lower-case DNS name such as acme.com.`,
    );
  }
  if (domain === SUPER_TENANT_DOMAIN) {
    throw new TesseraError('CONFLICT', `"${SUPER_TENANT_DOMAIN}" is the super tenant's domain.`);
  }
  return domain;
}
