import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { base32Decode } from '../../src/identity/totp/base32.js';
import { hotp, stepAt, TOTP_STEP_SECONDS } from '../../src/identity/totp/totp.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { createTenant } from '../helpers/tenant-stores.js';
import { launchBrowser, screenshot } from './browser.js';

/*
 * Two-factor sign-in in the console against a real server: a tenant admin logs in with the password, sets
 * up an authenticator on the Account page (the code computed here from the secret the page shows, as a
 * phone would), logs out, and logs in again with the password and then a code.
 */

const ADMIN: [string, string] = ['admin@acme.com', 'acme-admin-pw-1'];

let t: TestServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  t = await startTestServer('sqlite');
  await createTenant(t, 'acme.com', ADMIN[1]);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page) await screenshot(page, 'failed-totp');
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

/** Waits, if need be, until the current 30 s step has 8 s left, so the server's step stays the test's. */
async function roomInStep(): Promise<void> {
  const left = TOTP_STEP_SECONDS * 1000 - (Date.now() % (TOTP_STEP_SECONDS * 1000));
  if (left < 8000) await sleep(left + 50);
}

async function logInWithPassword(): Promise<void> {
  await page.getByLabel('User name').fill(ADMIN[0]);
  await page.getByLabel('Password').fill(ADMIN[1]);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

describe('two-factor sign-in in the console', () => {
  it('enrols an authenticator on the Account page, then asks for its code at the next login', async () => {
    await page.goto(`${t.server.url}/console/`);
    await logInWithPassword();
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await expect
      .poll(() => page.getByText(/^otpauth:\/\/totp\//).textContent())
      .toContain(`secret=${secret}`);
    await screenshot(page, 'totp-01-enrol');
    const key = base32Decode(secret);
    await roomInStep();
    const step = stepAt(Date.now());
    await page.getByLabel('Code from the app').fill(hotp(key, step));
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    const codes = page.getByRole('region', { name: 'Recovery codes' }).getByRole('listitem');
    await codes.nth(9).waitFor();
    expect(await codes.count()).toBe(10);
    await screenshot(page, 'totp-02-recovery-codes');
    await page.getByRole('button', { name: 'I have saved these codes' }).click();
    await page.getByText('Two-factor sign-in is on. 10 recovery codes left.').waitFor();

    await page.getByRole('button', { name: 'Log out' }).click();
    await logInWithPassword();
    const code = page.getByLabel('Authentication code');
    await code.waitFor();
    // The code that enrolled is used: at the same step it is refused, and the form says so.
    await code.fill(hotp(key, step));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').filter({ hasText: 'already used' }).waitFor();
    await screenshot(page, 'totp-03-code-refused');
    // The next step's code (a phone a little ahead) signs in.
    await code.fill(hotp(key, step + 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    expect(await page.locator('.who-name').textContent()).toBe(ADMIN[0]);
    expect(pageErrors).toEqual([]);
  });

  it('shows an admin who must enrol only the Account page, and the other pages once the codes are saved', async () => {
    const set = await t.call('PUT', '/api/v1/tenants/acme.com/settings/second-factor', {
      as: ['admin', ADMIN_PASSWORD],
      body: { requiredForAdmins: true },
    });
    expect(set.status).toBe(200);
    const created = await t.call('POST', '/api/v1/tenants/acme.com/users', {
      as: ['admin', ADMIN_PASSWORD],
      body: { username: 'ops', password: 'ops-password-1', roles: ['admin'] },
    });
    expect(created.status).toBe(201);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('User name').fill('ops@acme.com');
    await page.getByLabel('Password').fill('ops-password-1');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByText('Your tenant requires admins to use two-factor sign-in').waitFor();
    const nav = page.getByRole('navigation', { name: 'Pages' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['Account']);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const key = base32Decode((await page.getByTestId('totp-secret').textContent()) ?? '');
    await roomInStep();
    await page.getByLabel('Code from the app').fill(hotp(key, stepAt(Date.now())));
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    // The codes stay on screen until the admin says they are saved, however the page list changes.
    await page.getByRole('button', { name: 'I have saved these codes' }).click();
    await nav.getByRole('link', { name: 'Users and roles' }).waitFor();
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
    expect(pageErrors).toEqual([]);
  });
});
