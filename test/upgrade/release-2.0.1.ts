import { expect } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { allRows, type Ignore, type TableRows } from '../helpers/rows.js';
import { ADMIN_PASSWORD, basicAuthorization, callJson } from '../helpers/server.js';
import { buildZip } from '../webapps/helpers.js';

/**
 * What the tests that run real 2.0.1 nodes share (from-2.0.1, online-*): the accounts, and how an operator
 * of 2.0.1 gave production its data, through that release's own API.
 */
export const FROM = '2.0.1';
export const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
export const DOMAIN = 'shop.example';
export const TENANT_ADMIN: [string, string] = [`admin@${DOMAIN}`, 'shop-admin-pw'];
export const ALICE: [string, string] = [`alice@${DOMAIN}`, 'alice-pw-1'];
export const BOB: [string, string] = [`bob@${DOMAIN}`, 'bob-pw-2'];

/** Every row of every table of a database, each as a string (test/helpers/rows.ts). */
export async function rowsOf(url: string, home: string, ignore: Ignore = {}): Promise<TableRows> {
  const database: Database<unknown> = await openDatabase<unknown>(url, home);
  try {
    return await allRows(database, ignore);
  } finally {
    await database.close();
  }
}

/** What an operator of 2.0.1 made through its API: a tenant, roles, users, a registry resource, a zip app. */
export async function populateThroughApi(url: string): Promise<void> {
  const call = (method: string, route: string, as: [string, string], body?: unknown) =>
    callJson(url, method, route, { as, body });
  expect(
    await call('POST', '/api/v1/tenants', SUPER, { domain: DOMAIN, adminPassword: TENANT_ADMIN[1] }),
  ).toMatchObject({ status: 201 });
  for (const name of ['buyers', 'editors'])
    expect(await call('POST', `/api/v1/tenants/${DOMAIN}/roles`, TENANT_ADMIN, { name })).toMatchObject({
      status: 201,
    });
  for (const [user, roles] of [
    [ALICE, ['buyers']],
    [BOB, ['buyers', 'editors']],
  ] as const) {
    const created = await call('POST', `/api/v1/tenants/${DOMAIN}/users`, TENANT_ADMIN, {
      username: user[0].split('@')[0],
      password: user[1],
      roles,
      attributes: { mail: user[0], note: 'créé par 2.0.1' },
    });
    expect(created).toMatchObject({ status: 201 });
  }
  const resource = await call(
    'PUT',
    `/api/v1/tenants/${DOMAIN}/registry/resources/catalog/spring`,
    TENANT_ADMIN,
    {
      content: '{"season":"spring"}',
      mediaType: 'application/json',
      properties: { owner: 'alice' },
    },
  );
  expect(resource).toMatchObject({ status: 201 });
  const zip = await buildZip({ 'index.html': '<h1>Storefront of 2.0.1</h1>', 'css/site.css': 'h1{}' });
  const upload = await fetch(`${url}/api/v1/tenants/${DOMAIN}/webapps?name=storefront`, {
    method: 'POST',
    headers: {
      authorization: basicAuthorization(TENANT_ADMIN),
      'content-type': 'application/zip',
    },
    body: zip,
  });
  expect(upload.status, await upload.clone().text()).toBe(201);
  const served = await fetch(`${url}/t/${DOMAIN}/storefront/`);
  expect(await served.text()).toContain('Storefront of 2.0.1');
}
