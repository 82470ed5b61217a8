import { expect } from 'vitest';
import { ADMIN_PASSWORD, type Reply, type TestServer } from './server.js';

/** Config text that lets tenant admins' stores use this machine's database servers (none is allowed by default). */
export const ALLOW_LOCAL_STORE_HOSTS = '\n[userstores]\nallowed_hosts = ["127.0.0.1"]\n';

/** Creates tenant `domain` as the super tenant admin and expects it made (201); the reply's body.id is its id. */
export async function createTenant(t: TestServer, domain: string, adminPassword: string): Promise<Reply> {
  const created = await t.call('POST', '/api/v1/tenants', {
    as: ['admin', ADMIN_PASSWORD],
    body: { domain, adminPassword },
  });
  expect(created.status).toBe(201);
  return created;
}

/** The API body of a writable JDBC store named `domain` on `url`. */
export function jdbcStore(domain: string, url: string) {
  return { domain, type: 'jdbc', url, readOnly: false };
}

/**
 * Expects a user that tenant `admin` (`admin@<domain>`) adds to `store` through the API to sign in through it:
 * the store is one the tenant really serves users from.
 */
export async function expectStoreServesUsers(
  t: TestServer,
  admin: [string, string],
  store: string,
  user: string,
): Promise<void> {
  const domain = admin[0].slice(admin[0].indexOf('@') + 1);
  const added = await t.call('POST', `/api/v1/tenants/${domain}/users`, {
    as: admin,
    body: { username: `${store}/${user}`, password: `${user}-pw-123`, roles: [], attributes: {} },
  });
  expect(added.status).toBe(201);
  const login = await t.call('POST', '/api/v1/authenticate', {
    body: { username: `${store}/${user}@${domain}`, password: `${user}-pw-123` },
  });
  expect(login.status).toBe(200);
  expect(login.body.store).toBe(store);
}
