import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ECHO_APP_FILES, uploadApp } from '../helpers/app-sign-in.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { launchBrowser, screenshot } from './browser.js';

/*
 * Signing in to apps in Chromium (README, Signing in to apps): the form, the app showing its user, a second
 * app of the tenant without signing in again, the sign-out, and the form again.
 */

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME_ADMIN: [string, string] = ['admin@acme.com', 'acme-admin-pw-1'];
const ALICE_PASSWORD = 'alice-Secret-pw-7';

let t: TestServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  t = await startTestServer('sqlite');
  const created = await t.call('POST', '/api/v1/tenants', {
    as: SUPER,
    body: { domain: 'acme.com', adminPassword: ACME_ADMIN[1] },
  });
  expect(created.status).toBe(201);
  const alice = await t.call('POST', '/api/v1/tenants/acme.com/users', {
    as: ACME_ADMIN,
    body: { username: 'alice', password: ALICE_PASSWORD, roles: [] },
  });
  expect(alice.status).toBe(201);
  await uploadApp(t.server.url, 'acme.com', 'notes', ACME_ADMIN, ECHO_APP_FILES);
  await uploadApp(t.server.url, 'acme.com', 'wiki', ACME_ADMIN, ECHO_APP_FILES);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page)
    await screenshot(page, `failed-app-sign-in-${context.task.name.slice(0, 30)}`);
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('signing in to apps in Chromium', () => {
  it('signs in through the form, opens a second app without signing in again, signs out and is asked again', async () => {
    const base = t.server.url;
    await page.goto(`${base}/t/acme.com/notes/`);
    expect(new URL(page.url()).pathname).toBe('/t/acme.com/.tessera/sign-in');
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
    await screenshot(page, 'app-sign-in-form');
    await page.fill('#username', 'alice');
    await page.fill('#password', ALICE_PASSWORD);
    await Promise.all([page.waitForURL(`${base}/t/acme.com/notes/`), page.click('button[type=submit]')]);
    await expect(page.locator('#user').textContent()).resolves.toBe('alice');
    await expect(page.title()).resolves.toBe('notes');
    await screenshot(page, 'app-sign-in-notes');

    await page.goto(`${base}/t/acme.com/wiki/`);
    expect(page.url()).toBe(`${base}/t/acme.com/wiki/`);
    await expect(page.locator('#user').textContent()).resolves.toBe('alice');
    await expect(page.title()).resolves.toBe('wiki');
    await page.waitForLoadState('load');

    // The app's link to the tenant's sign-out page (a navigation from its sandboxed page keeps the cookie).
    await Promise.all([page.waitForURL(/\/\.tessera\/sign-out$/), page.click('#out')]);
    await expect(page.locator('#message').textContent()).resolves.toBe(
      'Sign out alice from every app of acme.com?',
    );
    await Promise.all([
      page.waitForURL(/\/\.tessera\/sign-in\?signed-out/),
      page.click('button[type=submit]'),
    ]);
    await expect(page.locator('#message').textContent()).resolves.toBe('You are signed out.');

    await page.goto(`${base}/t/acme.com/notes/`);
    expect(new URL(page.url()).pathname).toBe('/t/acme.com/.tessera/sign-in');
    await expect(page.locator('#password').isVisible()).resolves.toBe(true);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
