import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { launchBrowser, screenshot } from './browser.js';

/* The console while the server is in maintenance: a banner with the operator's message, write buttons disabled. */

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];

let t: TestServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  t = await startTestServer('sqlite');
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('the console in maintenance mode', () => {
  it('shows a banner with the message and disables the write buttons until maintenance ends', async () => {
    await page.goto(`${t.server.url}/console/`);
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    const create = page
      .getByRole('region', { name: 'Create a tenant' })
      .getByRole('button', { name: 'Create tenant' });
    expect(await create.isEnabled()).toBe(true);
    expect(await page.locator('.maintenance-banner').count()).toBe(0);

    const on = await t.call('PUT', '/api/v1/maintenance', {
      as: SUPER,
      body: { message: 'Upgrade until 14:00.' },
    });
    expect(on.status).toBe(200);
    // The console asks every 5 s.
    const banner = page.getByRole('status').filter({ hasText: 'Maintenance.' });
    await banner.waitFor({ timeout: 8_000 });
    expect(await banner.textContent()).toContain('Upgrade until 14:00.');
    expect(await create.isDisabled()).toBe(true);
    // Reading still works: another page loads.
    await page.getByRole('link', { name: 'Cluster' }).click();
    await page.getByRole('heading', { name: 'Cluster', level: 1 }).waitFor();
    expect(await banner.isVisible()).toBe(true);
    await screenshot(page, 'maintenance-banner');

    await t.call('DELETE', '/api/v1/maintenance', { as: SUPER });
    await banner.waitFor({ state: 'detached', timeout: 8_000 });
    await page.getByRole('link', { name: 'Tenants' }).click();
    expect(await create.isEnabled()).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
