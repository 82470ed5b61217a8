import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CURRENT_RELEASE } from '../../src/releases/matrix.js';
import { type RunningServer, startServer } from '../../src/server/start.js';
import { loadReportJournal } from '../../src/upgrade/first-serving.js';
import type { JournalData } from '../../src/upgrade/journal.js';
import { ADMIN_PASSWORD, startTestServer } from '../helpers/server.js';
import { GROUPS, PEOPLE, ROOT_DN, ROOT_PASSWORD, startSlapd } from '../userstores/ldap/slapd.js';
import { buildZip, eventually, rawZip } from '../webapps/helpers.js';
import { launchBrowser, screenshot } from './browser.js';
import { upgradedHome } from './upgraded-home.js';

/*
 * The console in a real browser against a real server. The server runs on a home made by a real
 * `tessera upgrade`, so the Upgrade page has a real journal to show. The steps share one browser page and
 * run in order, as an administrator would click through.
 */

const PASSWORD = 'console-fixture-pw';
const TENANT = 'shop.example';
const TENANT_PASSWORD = 'shop-admin-pw';

let home: { home: string; remove: () => void };
let server: RunningServer;
let browser: Browser;
let page: Page;
/** The console's token as last seen on its way to the API: the console keeps it in memory only. */
let bearer: string | undefined;
/** What the browser reports against the console's Content-Security-Policy: nothing, if it fits the app. */
const cspViolations: string[] = [];

beforeAll(async () => {
  home = await upgradedHome(PASSWORD);
  server = await startServer({
    home: home.home,
    port: 0,
    host: '127.0.0.1',
    stdoutLogs: false,
    logLevel: 'warn',
  });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(5_000);
  page.on('pageerror', (error) => console.error('console page error:', error));
  page.on('request', (request) => {
    const authorization = request.headers().authorization;
    if (authorization?.startsWith('Bearer ')) bearer = authorization;
  });
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
  });
}, 120_000);

// A failed step leaves a picture of what the browser showed.
afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page)
    await screenshot(page, `failed-${context.task.name.slice(0, 40)}`);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  home?.remove();
});

async function api(
  method: string,
  route: string,
  body?: unknown,
  as: [string, string] = ['admin', PASSWORD],
) {
  const response = await fetch(`${server.url}/api/v1${route}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(as.join(':')).toString('base64')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const section = (name: string) => page.getByRole('region', { name });

async function logIn(username: string, password: string) {
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

describe('the management console', () => {
  it('is served at /console/, checks the login form and logs the super tenant admin in', async () => {
    const redirect = await fetch(`${server.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/console/');
    // A page of the app reloaded in the browser is the app (SPA fallback); a missing asset is a 404.
    expect((await fetch(`${server.url}/console/tenants`)).headers.get('content-type')).toMatch(/text\/html/);
    expect((await fetch(`${server.url}/console/assets/missing.js`)).status).toBe(404);

    await page.goto(`${server.url}/console/`);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await expect.poll(() => page.getByLabel('User name').getAttribute('aria-invalid')).toBe('true');
    await expect.poll(() => page.getByText('Enter your password.').isVisible()).toBe(true);
    await logIn('admin', 'not-the-password');
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Invalid credentials');
    await screenshot(page, '01-login');

    await logIn('admin', PASSWORD);
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    expect(await page.getByText('admin@carbon.super').isVisible()).toBe(true);
    // The page says "Tenants" once, as its title; the list is still a region of that name.
    expect(await page.getByRole('heading', { name: 'Tenants', exact: true }).count()).toBe(1);
    expect(await section('Tenants').getByRole('table').count()).toBe(1);
  });

  it('creates a tenant, refusing a bad domain first, and deactivates and reactivates it', async () => {
    const form = section('Create a tenant');
    await form.getByLabel('Domain').fill('Not A Domain');
    await form.getByLabel('Admin password').fill('short');
    await form.getByRole('button', { name: 'Create tenant' }).click();
    await expect.poll(() => form.getByLabel('Domain').getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByText('Use a lower-case DNS name such as acme.com.').isVisible()).toBe(true);
    expect(await form.getByText('At least 8 characters.').isVisible()).toBe(true);
    await screenshot(page, '02-tenants-validation');

    await form.getByLabel('Domain').fill(TENANT);
    await form.getByLabel('Admin password').fill(TENANT_PASSWORD);
    await form.getByRole('button', { name: 'Create tenant' }).click();
    await form.getByText(`Tenant ${TENANT} created`).waitFor();
    const row = section('Tenants').getByRole('row').filter({ hasText: TENANT });
    await row.getByText('active').waitFor();

    await row.getByRole('button', { name: `Deactivate ${TENANT}` }).click();
    await row.getByText('inactive').waitFor();
    expect((await api('GET', `/tenants/${TENANT}`)).body.active).toBe(false);
    await row.getByRole('button', { name: `Activate ${TENANT}` }).click();
    await row.getByText(/^active$/).waitFor();
    expect((await api('GET', `/tenants/${TENANT}`)).body.active).toBe(true);
    await screenshot(page, '03-tenants');
  });

  it('deletes a tenant after a confirmation naming it and backups/, and shows a refusal', async () => {
    const doomed = 'doomed.example';
    const created = await api('POST', '/tenants', { domain: doomed, adminPassword: 'doomed-admin-pw' });
    expect(created.status).toBe(201);
    await page.getByRole('link', { name: 'Cluster' }).click();
    await page.getByRole('link', { name: 'Tenants' }).click();
    const list = section('Tenants');
    const row = list.getByRole('row').filter({ hasText: doomed });
    await row.waitFor();

    // Cancelling the confirmation changes nothing.
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.dismiss();
    });
    await row.getByRole('button', { name: `Delete ${doomed}` }).click();
    await expect.poll(() => asked).toContain(doomed);
    expect(asked).toContain('backups/');
    expect(asked).toContain(`repository/tenants/${created.body.id}/`);
    expect((await api('GET', `/tenants/${doomed}`)).status).toBe(200);

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: `Delete ${doomed}` }).click();
    await list.getByText(`Tenant ${doomed} deleted; its folder is in backups/.`).waitFor();
    await expect.poll(() => row.count()).toBe(0);
    expect((await api('GET', `/tenants/${doomed}`)).status).toBe(404);
    const backups = readdirSync(path.join(home.home, 'backups'));
    expect(backups.filter((name) => name.startsWith(`deleted-tenant-${created.body.id}-`))).toHaveLength(1);
    // The super tenant has no Delete button: the API refuses to delete it.
    expect(
      await list
        .getByRole('row')
        .filter({ hasText: 'carbon.super' })
        .getByRole('button', { name: /^Delete/ })
        .count(),
    ).toBe(0);

    // Deleted meanwhile by someone else: the console shows the API's refusal and drops the row.
    const gone = 'gone.example';
    expect((await api('POST', '/tenants', { domain: gone, adminPassword: 'gone-admin-pw' })).status).toBe(
      201,
    );
    await page.getByRole('link', { name: 'Cluster' }).click();
    await page.getByRole('link', { name: 'Tenants' }).click();
    const goneRow = list.getByRole('row').filter({ hasText: gone });
    await goneRow.waitFor();
    expect((await api('DELETE', `/tenants/${gone}`)).status).toBe(204);
    page.once('dialog', (dialog) => void dialog.accept());
    await goneRow.getByRole('button', { name: `Delete ${gone}` }).click();
    await expect.poll(() => list.getByRole('alert').textContent()).toContain('(NOT_FOUND)');
    await expect.poll(() => goneRow.count()).toBe(0);
    await screenshot(page, '03b-tenant-deleted');
  });

  it('adds a JDBC user store to the tenant after testing its connection', async () => {
    await section('Tenants')
      .getByRole('button', { name: `Manage ${TENANT}` })
      .click();
    await page.getByRole('link', { name: 'User stores' }).click();
    const form = section('Add a user store');
    await form.getByLabel('Store domain').fill('SUPPLIERS');
    // The server's own database is refused by the test endpoint; the console shows its reason.
    await form.getByLabel('Database URL').fill('sqlite:repository/database/tessera.db');
    await form.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain("server's own database");
    await screenshot(page, '04-userstores-test-failed');

    await form.getByLabel('Database URL').fill('sqlite:repository/database/suppliers.db');
    await form.getByRole('button', { name: 'Test connection' }).click();
    await form.getByText('Connection to SUPPLIERS works.').waitFor();
    await form.getByRole('button', { name: 'Add store' }).click();
    await form.getByText('User store SUPPLIERS added (up).').waitFor();
    const row = section(`User stores of ${TENANT}`).getByRole('row').filter({ hasText: 'SUPPLIERS' });
    await row.getByText('up', { exact: true }).waitFor();
    const stores = (await api('GET', `/tenants/${TENANT}/userstores`)).body.userstores;
    expect(stores.map((s: { domain: string }) => s.domain)).toEqual(['PRIMARY', 'SUPPLIERS']);
    await screenshot(page, '05-userstores');
  });

  it("tests an LDAP directory from the store form and shows the directory's refusal", async () => {
    const slapd = await startSlapd();
    try {
      const form = section('Add a user store');
      await form.getByLabel('Store domain').fill('DIRECTORY');
      await form.getByLabel('Type').selectOption('ldap');
      await form.getByLabel('LDAP URL').fill(slapd.url);
      await form.getByRole('button', { name: 'Test connection' }).click();
      await expect.poll(() => form.getByLabel('Bind DN').getAttribute('aria-invalid')).toBe('true');
      expect(await form.getByText('Enter the bind password.').isVisible()).toBe(true);

      await form.getByLabel('Bind DN').fill(ROOT_DN);
      await form.getByLabel('Bind password').fill('not-the-root-password');
      await form.getByLabel('User search base').fill(PEOPLE);
      await form.getByLabel('Group search base').fill(GROUPS);
      await form.getByRole('button', { name: 'Test connection' }).click();
      await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/^Connection failed: /);

      await form.getByLabel('Bind password').fill(ROOT_PASSWORD);
      await form.getByRole('button', { name: 'Test connection' }).click();
      await form.getByText('Connection to DIRECTORY works.').waitFor();
      await screenshot(page, '05b-userstores-ldap-test');
    } finally {
      await slapd.dispose();
    }
  });

  it('adds users to the new store, searches, pages, assigns roles and resets a password', async () => {
    await page.getByRole('link', { name: 'Users and roles' }).click();
    const roles = section('Roles');
    for (const role of ['buyers', 'SUPPLIERS/buyers']) {
      await roles.getByLabel('New role').fill(role);
      await roles.getByRole('button', { name: 'Add role' }).click();
      await roles
        .getByRole('listitem')
        .filter({ hasText: new RegExp(`^${role}$`) })
        .waitFor();
    }

    const form = section('Add a user');
    await form.getByLabel('Store').selectOption('SUPPLIERS');
    await form.getByLabel('Password').fill('short');
    await form.getByRole('button', { name: 'Add user' }).click();
    expect(await form.getByText('Enter a user name.').isVisible()).toBe(true);
    const names = Array.from({ length: 12 }, (_, i) => `buyer${String(i + 1).padStart(2, '0')}`);
    for (const name of names) {
      await form.getByLabel('User name').fill(name);
      await form.getByLabel('Password').fill(`${name}-password`);
      await form.getByRole('button', { name: 'Add user' }).click();
      await form.getByText(`User SUPPLIERS/${name} added.`).waitFor();
    }
    const listed = await api('GET', `/tenants/${TENANT}/users?store=SUPPLIERS`);
    expect(listed.body.users.map((u: { username: string }) => u.username)).toEqual(
      names.map((n) => `SUPPLIERS/${n}`),
    );

    const users = section(`Users of ${TENANT}`);
    await users.getByLabel('Store').selectOption('SUPPLIERS');
    await users.getByLabel('Name starts with').fill('buyer');
    await users.getByRole('button', { name: 'Search' }).click();
    await users.getByText('1–10 of more').waitFor();
    await users.getByRole('button', { name: 'Next' }).click();
    await users.getByText('11–12').waitFor();
    expect(await users.getByRole('cell', { name: 'SUPPLIERS/buyer12', exact: true }).isVisible()).toBe(true);
    await screenshot(page, '06-users-page-2');

    await users.getByRole('button', { name: 'Edit SUPPLIERS/buyer12' }).click();
    const edit = section('Edit SUPPLIERS/buyer12');
    await edit.getByLabel('Roles').fill('SUPPLIERS/buyers');
    await edit.getByRole('button', { name: 'Save roles' }).click();
    await users.getByRole('cell', { name: 'SUPPLIERS/buyers' }).waitFor();
    await users.getByRole('button', { name: 'Edit SUPPLIERS/buyer12' }).click();
    await edit.getByLabel('New password').fill('brand-new-password');
    await edit.getByRole('button', { name: 'Reset password' }).click();
    await edit.getByText('Password of SUPPLIERS/buyer12 reset.').waitFor();
    await screenshot(page, '07-users-edit');
    const login = await fetch(`${server.url}/api/v1/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `SUPPLIERS/buyer12@${TENANT}`, password: 'brand-new-password' }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { roles: string[] }).roles).toContain('SUPPLIERS/buyers');
  });

  it('asks for the password again when the session expires, keeps what was typed and carries on', async () => {
    const form = section('Add a user');
    await form.getByLabel('Store').selectOption('PRIMARY');
    await form.getByLabel('User name').fill('carol');
    await form.getByLabel('Password').fill('carol-password');
    await form.getByLabel('Roles').fill('buyers');
    // The server forgets the session, as it does when it expires or restarts.
    const revoked = await fetch(`${server.url}/api/v1/sessions/current`, {
      method: 'DELETE',
      headers: { authorization: `${bearer}` },
    });
    expect(revoked.status).toBe(204);

    await form.getByRole('button', { name: 'Add user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Your session expired' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('User name').inputValue()).toBe('admin@carbon.super');
    expect(await form.getByLabel('User name').inputValue()).toBe('carol');
    expect(await form.getByLabel('Roles').inputValue()).toBe('buyers');
    await screenshot(page, '08-session-expired');

    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByRole('button', { name: 'Log in', exact: true }).click();
    await form.getByText('User carol added.').waitFor();
    expect(await dialog.isVisible()).toBe(false);
    const carol = await api('GET', `/tenants/${TENANT}/users/carol`);
    expect(carol.status).toBe(200);
    expect(carol.body.roles).toEqual(['buyers']);
  });

  it('uploads a web application and opens it', async () => {
    // A zip dropped by hand whose entry escapes the app folder is refused by the deployer, not deployed.
    const tenantId = (await api('GET', `/tenants/${TENANT}`)).body.id as number;
    const webapps = path.join(home.home, 'repository', 'tenants', String(tenantId), 'webapps');
    expect(existsSync(webapps)).toBe(true);
    writeFileSync(path.join(webapps, 'sneaky.zip'), rawZip([{ name: '../escape.txt', content: 'x' }]));
    await eventually(async () => (await api('GET', `/tenants/${TENANT}/webapps`)).body.refused.length > 0);
    const [refusal] = (await api('GET', `/tenants/${TENANT}/webapps`)).body.refused;
    expect(refusal).toMatchObject({ name: 'sneaky', entry: 'sneaky.zip', error: 'UNSAFE_ARCHIVE' });

    await page.getByRole('link', { name: 'Web applications' }).click();
    const refusedRow = section('Not deployed').getByRole('row').filter({ hasText: 'sneaky.zip' });
    await refusedRow.waitFor();
    expect(await refusedRow.getByRole('cell').nth(0).textContent()).toBe('sneaky');
    expect(await refusedRow.getByRole('cell').nth(2).textContent()).toContain('UNSAFE_ARCHIVE');
    expect(await refusedRow.getByRole('cell').nth(2).textContent()).toContain(refusal.message);

    const form = section('Upload an app');
    await form.getByRole('button', { name: 'Upload and deploy' }).click();
    expect(await form.getByText('Choose a .zip file.').isVisible()).toBe(true);
    const zip = await buildZip({
      'index.html': '<h1>Supplier catalog</h1>',
      'app.css': 'h1 { color: teal }',
    });
    await form
      .getByLabel('Zip file')
      .setInputFiles({ name: 'catalog.zip', mimeType: 'application/zip', buffer: zip });
    expect(await form.getByLabel('App name').inputValue()).toBe('catalog');
    await form.getByRole('button', { name: 'Upload and deploy' }).click();
    await form.getByText(`catalog deployed at /t/${TENANT}/catalog/.`).waitFor();
    await screenshot(page, '09-webapps');

    const [opened] = await Promise.all([
      page.waitForEvent('popup'),
      section(`Web applications of ${TENANT}`).getByRole('link', { name: 'catalog' }).click(),
    ]);
    await opened.waitForLoadState();
    expect(opened.url()).toBe(`${server.url}/t/${TENANT}/catalog/`);
    expect(await opened.getByRole('heading').textContent()).toBe('Supplier catalog');
    await screenshot(opened, '10-webapp-opened');
    await opened.close();

    // Undeploying asks first (a native confirm), then the app is gone from the list and from its URL.
    page.once('dialog', (dialog) => void dialog.accept());
    const apps = section(`Web applications of ${TENANT}`);
    await apps.getByRole('button', { name: 'Undeploy catalog' }).click();
    await apps.getByText('No apps deployed.').waitFor();
    expect((await fetch(`${server.url}/t/${TENANT}/catalog/`)).status).toBe(404);

    // Node apps: the list shows each one's process, running or failed with the reason.
    const uploads = {
      hello: 'export default { fetch: () => new Response("hello from code") }',
      broken: 'export default {',
    };
    for (const [name, code] of Object.entries(uploads)) {
      const app = await buildZip({ 'tessera-app.toml': 'entry = "server.mjs"', 'server.mjs': code });
      await form
        .getByLabel('Zip file')
        .setInputFiles({ name: `${name}.zip`, mimeType: 'application/zip', buffer: app });
      await form.getByRole('button', { name: 'Upload and deploy' }).click();
      await form.getByText(`${name} deployed at /t/${TENANT}/${name}/`).waitFor();
    }
    expect(
      await form.getByText(`broken deployed at /t/${TENANT}/broken/, but it does not start`).isVisible(),
    ).toBe(true);
    const helloRow = apps.getByRole('row').filter({ hasText: 'hello' });
    await helloRow.getByText('running', { exact: true }).waitFor();
    expect(await helloRow.textContent()).toContain('server.mjs');
    const brokenRow = apps.getByRole('row').filter({ hasText: 'broken' });
    await brokenRow.getByText('error', { exact: true }).waitFor();
    expect(await brokenRow.textContent()).toContain('SyntaxError');
    await screenshot(page, '09b-node-apps');
    expect(await (await fetch(`${server.url}/t/${TENANT}/hello/`)).text()).toBe('hello from code');
  });

  it('browses the registry', async () => {
    const put = await api('PUT', `/tenants/${TENANT}/registry/resources/config/catalog.json`, {
      content: '{"currency":"EUR"}',
      mediaType: 'application/json',
      properties: { owner: 'purchasing' },
    });
    expect(put.status).toBe(201);
    await page.getByRole('link', { name: 'Registry' }).click();
    const registry = section(`Registry of ${TENANT}`);
    await registry.getByRole('button', { name: 'config' }).click();
    await registry.getByRole('button', { name: 'catalog.json' }).click();
    const resource = registry.getByRole('article', { name: 'Resource /config/catalog.json' });
    await resource.getByText('{"currency":"EUR"}').waitFor();
    expect(await resource.getByText('purchasing').isVisible()).toBe(true);
    await screenshot(page, '11-registry');
  });

  it('lists the cluster nodes with their heartbeats', async () => {
    await page.getByRole('link', { name: 'Cluster' }).click();
    const row = section('Nodes')
      .getByRole('row')
      .filter({ hasText: `:${server.port}` });
    await row.getByText('live').waitFor();
    expect(await row.getByText(CURRENT_RELEASE, { exact: true }).isVisible()).toBe(true);
    await screenshot(page, '12-cluster');
  });

  it('renders the journal of the upgrade that made this home', async () => {
    const journal = JSON.parse(
      readFileSync(path.join(home.home, 'upgrade', 'journal.json'), 'utf8'),
    ) as JournalData;
    await page.getByRole('link', { name: 'Upgrade' }).click();
    await section('Steps')
      .getByRole('img', { name: /Upgrade steps on a time line/ })
      .waitFor();
    expect(await page.getByRole('heading', { name: `1.1.0 → ${CURRENT_RELEASE}` }).isVisible()).toBe(true);

    const stepRows = section('Steps').getByRole('row');
    expect(await stepRows.count()).toBe(1 + Object.keys(journal.steps).length);
    expect(await page.locator('.timeline rect.bar.done').count()).toBe(Object.keys(journal.steps).length);

    const tables = journal.steps.stage?.details?.tables as Record<string, { rows: number; checksum: string }>;
    const users = section('Rows copied to staging')
      .getByRole('row')
      .filter({ hasText: /^users/ });
    expect(await users.getByRole('cell').nth(1).textContent()).toBe(String(tables.users?.rows));
    // This home is on SQLite: one digest of the whole file checks every table, so it is shown once, not per row.
    const pageDigest = journal.steps.stage?.details?.pageDigest as string;
    expect(pageDigest).toMatch(/^[0-9a-f]{64}$/);
    const rows = section('Rows copied to staging');
    expect(await rows.locator('.page-digest').textContent()).toContain(pageDigest);
    expect(await rows.getByRole('columnheader').allTextContents()).toEqual(['Table', 'Rows']);
    expect(await users.getByRole('cell').count()).toBe(2);
    expect(await rows.textContent()).not.toContain(tables.users?.checksum);

    // The configuration report is a table of keys (key, before, after, why), one row per journal entry.
    const report = journal.steps.configure?.details?.report as Record<string, string>[];
    const config = section('Configuration report');
    expect(await config.getByRole('columnheader').allTextContents()).toEqual([
      'Key',
      'Before',
      'After',
      'Why',
    ]);
    expect(await config.getByRole('row').count()).toBe(1 + report.length);
    const configRow = (key: string, text?: string) =>
      config
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name: key, exact: true }) })
        .filter(text ? { hasText: text } : {});
    const cellsOf = async (key: string, text?: string) => {
      const row = configRow(key, text);
      expect(await row.count()).toBe(1);
      return row.getByRole('cell').allTextContents();
    };
    // The 1.1.0 fixture's config (src/releases/1.1.0/fixture.ts) through the 1.1 -> 2.0 rules, then the
    // 2.0 -> 2.1 ones (a key both hops wrote has a row for each).
    const renamed = await cellsOf('server.hostname → server.host');
    expect(renamed.slice(0, 2)).toEqual(['"localhost"', '"localhost"']);
    expect(renamed[2]).toContain('renamed to server.host');
    expect(renamed[2]).toContain('format 1.1 → 2.0');
    const hash = await cellsOf('user_store.password_hash → security.password_hash');
    expect(hash.slice(0, 2)).toEqual(['"SHA-256"', '"argon2id"']);
    expect(hash[2]).toContain('re-hashed at the next login');
    const pool = await cellsOf('database.pool_size', 'format 1.1 → 2.0');
    expect(pool.slice(0, 2)).toEqual(['—', '10']);
    expect(pool[2]).toContain('new in 2.0');
    expect((await cellsOf('server.port', 'format 1.1 → 2.0')).slice(0, 3)).toEqual([
      '9763',
      '9763',
      'carried unchangedformat 1.1 → 2.0',
    ]);
    expect((await cellsOf('server.port', 'format 2.0 → 2.1')).slice(0, 3)).toEqual([
      '9763',
      '9763',
      'carried unchangedformat 2.0 → 2.1',
    ]);
    const keepVersions = await cellsOf('deployment.keep_versions');
    expect(keepVersions.slice(0, 2)).toEqual(['—', '5']);
    expect(keepVersions[2]).toContain('new in 2.1');
    const staging = report.find((entry) => entry.hop === 'staging');
    const switched = await cellsOf('database.url', 'switch to the upgraded database');
    // The embedded default path reads the same before and after: the entry says it was kept, and why.
    expect(staging?.kind).toBe('kept');
    expect(switched.slice(0, 2)).toEqual([staging?.value, staging?.value]);
    expect(switched[2]).toContain(staging?.note);
    // No raw `hop=... from=...` text is left.
    expect(await config.textContent()).not.toMatch(/\bhop=|\bfrom=/);
    // The console's server is the first node on the upgraded home, so the outage it shows ends when it served.
    const outage = loadReportJournal(home.home).outage?.durationMs ?? 0;
    expect(outage).toBeGreaterThanOrEqual(journal.outage?.durationMs ?? 0);
    const shown = await page.locator('.outage-figure').textContent();
    expect(shown).toBe(
      outage < 1000 ? `${outage} ms` : `${(outage / 1000).toFixed(outage < 10_000 ? 2 : 1)} s`,
    );
    await screenshot(page, '13-upgrade');
  });

  it('fits a 420 px wide screen: a compact menu, Log out in view, nothing wider than the page', async () => {
    const width = 420;
    await page.setViewportSize({ width, height: 800 });
    try {
      const nav = page.getByRole('navigation', { name: 'Pages' });
      const menu = page.getByRole('button', { name: 'Menu of pages' });
      const inView = async (box: { x: number; y: number; width: number; height: number } | null) => {
        expect(box).not.toBeNull();
        if (!box) return;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(width);
        expect(box.width).toBeGreaterThan(0);
      };
      // Every element whose right edge passes the screen, unless a box that scrolls sideways (a table's) holds it.
      const overflowing = () =>
        page.evaluate<string[]>(`(() => {
          const limit = document.documentElement.clientWidth + 0.5;
          const clipped = (el) => {
            for (let up = el.parentElement; up; up = up.parentElement) {
              const style = getComputedStyle(up);
              if (style.overflowX !== 'visible' && up.getBoundingClientRect().right <= limit) return true;
            }
            return false;
          };
          return [...document.body.querySelectorAll('*')]
            .filter((el) => {
              const box = el.getBoundingClientRect();
              return box.width > 0 && box.right > limit && !clipped(el);
            })
            .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className) : '') + ': ' + (el.textContent ?? '').slice(0, 40));
        })()`);

      // Each page, and what shows that its answers from the API are in: their content is what could
      // overflow (and the cluster page polls, so the network is never idle for long).
      const pages: { title: string; content: () => Locator }[] = [
        {
          title: 'Tenants',
          content: () => section('Tenants').getByRole('cell', { name: TENANT, exact: true }),
        },
        {
          title: 'User stores',
          content: () =>
            section(`User stores of ${TENANT}`).getByRole('cell', { name: 'SUPPLIERS', exact: true }),
        },
        {
          title: 'Users and roles',
          content: () =>
            section('Roles')
              .getByRole('listitem')
              .filter({ hasText: /^buyers$/ }),
        },
        {
          title: 'Web applications',
          content: () => section('Not deployed').getByRole('cell', { name: 'sneaky.zip' }),
        },
        {
          title: 'Registry',
          content: () => section(`Registry of ${TENANT}`).getByRole('button', { name: 'config' }),
        },
        {
          title: 'Audit',
          content: () => section(`Audit trail of ${TENANT}`).locator('tbody tr').first(),
        },
        {
          title: 'Lockouts',
          content: () => section('Lockout policy').getByLabel('Failures that lock (account)'),
        },
        {
          title: 'Password policy',
          content: () => section(`Password policy of ${TENANT}`).getByLabel('Minimum length'),
        },
        {
          title: 'OpenID Connect',
          content: () => section('Signing keys').getByRole('cell', { name: 'signing', exact: true }),
        },
        {
          title: 'Cluster',
          content: () =>
            section('Nodes')
              .getByRole('row')
              .filter({ hasText: `:${server.port}` }),
        },
        {
          title: 'Upgrade',
          content: () =>
            // Every hop changes `format`: its first row is enough to know the table is shown.
            section('Configuration report').getByRole('rowheader', { name: 'format', exact: true }).first(),
        },
        {
          title: 'Account',
          content: () =>
            section('Two-factor sign-in').getByRole('button', { name: 'Set up an authenticator app' }),
        },
      ];
      const titles = pages.map((p) => p.title);
      for (const { title, content } of pages) {
        // The links sit behind the menu button, so the header stays one short row.
        expect(await nav.getByRole('link').first().isVisible()).toBe(false);
        expect((await page.locator('header').boundingBox())?.height).toBeLessThan(70);
        await menu.click();
        expect(await menu.getAttribute('aria-expanded')).toBe('true');
        const links = nav.getByRole('link');
        expect(await links.allTextContents()).toEqual(titles);
        for (const link of await links.all()) await inView(await link.boundingBox());
        if (title === 'Tenants') await screenshot(page, '15a-narrow-420-menu-open');
        await links.filter({ hasText: new RegExp(`^${title}$`) }).click();
        await page.getByRole('heading', { name: title, level: 1 }).waitFor();
        expect(await menu.getAttribute('aria-expanded')).toBe('false');
        // Pages fill in from the API; their content is what could overflow, so wait for it.
        await content().waitFor();

        await inView(await page.getByRole('button', { name: 'Log out' }).boundingBox());
        await inView(await menu.boundingBox());
        expect(await overflowing(), `overflowing on ${title}`).toEqual([]);
        expect(
          await page.evaluate<number>('document.documentElement.scrollWidth'),
          `page width on ${title}`,
        ).toBeLessThanOrEqual(width);
        if (title === 'Tenants') {
          // The actions column is reachable: its table scrolls inside its box instead of the page.
          const actions = section('Tenants')
            .getByRole('row')
            .filter({ hasText: TENANT })
            .locator('td.actions');
          await actions.scrollIntoViewIfNeeded();
          await inView(await actions.getByRole('button', { name: `Manage ${TENANT}` }).boundingBox());
          await screenshot(page, '15-narrow-420');
        }
        if (title === 'Upgrade') await screenshot(page, '15b-narrow-420-upgrade');
      }
      // Back to a super admin's page: the next test logs in as a tenant admin, who lands on its first page.
      await page.evaluate("window.location.hash = '#/upgrade'");
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('shows a tenant admin only its own tenant', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    // By keyboard alone: type, Tab to the password, Enter to submit.
    await page.getByLabel('User name').focus();
    await page.keyboard.type(`admin@${TENANT}`);
    await page.keyboard.press('Tab');
    await page.keyboard.type(TENANT_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'User stores', level: 1 }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Pages' });
    expect(await nav.getByRole('link').allTextContents()).toEqual([
      'User stores',
      'Users and roles',
      'Web applications',
      'Registry',
      'Audit',
      'Lockouts',
      'Password policy',
      'OpenID Connect',
      'Account',
    ]);
    expect(await page.getByText(`Tenant ${TENANT}`).isVisible()).toBe(true);
    await section(`User stores of ${TENANT}`).getByRole('cell', { name: 'SUPPLIERS', exact: true }).waitFor();
    await screenshot(page, '14-tenant-admin');
    // A super-admin page typed into the address bar is not there for a tenant admin.
    await page.goto(`${server.url}/console/#/upgrade`);
    await page.getByRole('heading', { name: 'User stores', level: 1 }).waitFor();
    expect(await page.getByRole('heading', { name: 'Upgrade' }).count()).toBe(0);
    // The API behind it refuses the super tenant to this admin, whatever the console shows.
    const refused = await fetch(`${server.url}/api/v1/tenants/carbon.super/users`, {
      headers: { authorization: `${bearer}` },
    });
    expect(refused.status).toBe(404);
  });

  it('keeps the token in memory only: nothing in web storage, and a reload asks for the password', async () => {
    expect(bearer).toMatch(/^Bearer /);
    const stored = await page.evaluate<string>(
      'JSON.stringify([Object.values(sessionStorage), Object.values(localStorage)])',
    );
    expect(stored).not.toContain(bearer?.slice(7));
    await page.reload();
    await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
    expect(await page.getByRole('heading', { name: 'Tessera console' }).isVisible()).toBe(true);
  });

  it('says no upgrade has run, with the command, on a home no upgrade made, and logs no console error', async () => {
    const fresh = await startTestServer('sqlite');
    const other = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    other.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
    });
    other.on('pageerror', (error) => errors.push(String(error)));
    const failed: string[] = [];
    other.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    try {
      other.setDefaultTimeout(5_000);
      await other.goto(`${fresh.server.url}/console/#/upgrade`);
      await other.getByLabel('User name').fill('admin');
      await other.getByLabel('Password').fill(ADMIN_PASSWORD);
      await other.getByRole('button', { name: 'Log in', exact: true }).click();
      await other.getByRole('heading', { name: 'Upgrade', level: 1 }).waitFor();
      const none = other.getByRole('region', { name: 'No upgrade has run on this home' });
      await none.waitFor();
      expect(await none.textContent()).toContain('tessera upgrade --from-home OLD_HOME --home NEW_HOME');
      await other.waitForLoadState('networkidle');
      await screenshot(other, '16-upgrade-none');
      expect(failed).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await other.close();
      await fresh.stop();
    }
  });

  it('runs whole under its Content-Security-Policy, which also forbids framing it', async () => {
    expect(cspViolations).toEqual([]);
    const index = await fetch(`${server.url}/console/`);
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(index.headers.get('x-frame-options')).toBe('DENY');
  });
});
