import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';
import { launchBrowser, screenshot } from './browser.js';

/*
 * The console's identity pages against a real server (SQLite): a failed login found in the Audit page, the
 * account it locked unlocked from the Lockouts page, the lockout and password policies saved and refused
 * with the API's rule shown at its field, and an expired password changed from the login form.
 */

const TENANT = 'acme.com';
const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ADMIN: [string, string] = [`admin@${TENANT}`, 'acme-admin-pw'];
const ALICE_PASSWORD = 'alice-right-pw';
const DAY = 24 * 60 * 60 * 1000;

let t: TestServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const questions: string[] = [];

beforeAll(async () => {
  t = await startTestServer('sqlite');
  const created = await t.call('POST', '/api/v1/tenants', {
    as: SUPER,
    body: { domain: TENANT, adminPassword: ADMIN[1] },
  });
  expect(created.status).toBe(201);
  const alice = await t.call('POST', `/api/v1/tenants/${TENANT}/users`, {
    as: ADMIN,
    body: { username: 'alice', password: ALICE_PASSWORD },
  });
  expect(alice.status).toBe(201);
  const lockout = await t.call('PUT', `/api/v1/tenants/${TENANT}/settings/lockout`, {
    as: ADMIN,
    body: { account: { maxFailures: 3 } },
  });
  expect(lockout.status).toBe(200);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('dialog', (dialog) => {
    questions.push(dialog.message());
    void dialog.accept();
  });
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page)
    await screenshot(page, `failed-identity-${context.task.name.slice(0, 30)}`);
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

const authenticate = (password: string) =>
  t.call('POST', '/api/v1/authenticate', { body: { username: `alice@${TENANT}`, password } });

async function logIn(password: string) {
  await page.getByLabel('User name').fill(ADMIN[0]);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

describe('the identity pages of the console', () => {
  it('shows a failed login in the audit, unlocks the account it locked, and saves and refuses policies', async () => {
    for (const guess of ['guess-1', 'guess-2', 'guess-3'])
      expect((await authenticate(guess)).status).toBe(401);
    expect((await authenticate(ALICE_PASSWORD)).status).toBe(429);

    await page.goto(`${t.server.url}/console/`);
    await logIn(ADMIN[1]);

    // Audit: the failed logins, filtered, with their reason, store and address in words.
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByLabel('Action starts with').fill('login.failure');
    await page.getByLabel('Actor').fill(`alice@${TENANT}`);
    await page.getByRole('button', { name: 'Show' }).click();
    const trail = page.getByRole('region', { name: `Audit trail of ${TENANT}` });
    await expect.poll(() => trail.locator('tbody tr').count()).toBe(3);
    const firstRow = await trail.locator('tbody tr').first().getByRole('cell').allTextContents();
    expect(firstRow.slice(1)).toEqual([
      `alice@${TENANT}`,
      'login.failure',
      'authenticate',
      'reason wrong-password · store PRIMARY · from 127.0.0.1',
    ]);
    await screenshot(page, 'identity-audit');

    // Lockouts: alice locked with time left; unlocked after a confirmation; she logs in again.
    await page.getByRole('link', { name: 'Lockouts' }).click();
    const locked = page.getByRole('region', { name: `Locked accounts of ${TENANT}` });
    const aliceRow = locked.locator('tbody tr', { hasText: 'alice' });
    await aliceRow.waitFor();
    expect(await aliceRow.getByRole('cell').nth(1).textContent()).toMatch(/^\d+ (min \d+ )?s$/);
    await screenshot(page, 'identity-lockouts');
    await locked.getByRole('button', { name: 'Unlock alice' }).click();
    await locked.getByText('Account alice unlocked.').waitFor();
    expect(questions.at(-1)).toBe('Unlock Account alice and forget its failed logins?');
    await locked.getByText('Nothing is locked.').waitFor();
    expect((await authenticate(ALICE_PASSWORD)).status).toBe(200);

    // The lockout policy: the API's refusal shown at the field it names.
    const failures = page.getByLabel('Failures that lock (account)');
    expect(await failures.inputValue()).toBe('3');
    await failures.fill('500');
    await page.getByRole('button', { name: 'Save lockout policy' }).click();
    await page.getByText('account.maxFailures is a whole number from 1 to 100').waitFor();
    expect(await failures.getAttribute('aria-invalid')).toBe('true');
    await failures.fill('4');
    await page.getByRole('button', { name: 'Save lockout policy' }).click();
    await page.getByText('Lockout policy saved').waitFor();
    const lockoutNow = await t.call('GET', `/api/v1/tenants/${TENANT}/settings/lockout`, { as: ADMIN });
    expect(lockoutNow.body.account.maxFailures).toBe(4);

    // The password policy: saved, then a refused value shown at its field with the rule's name.
    await page.getByRole('link', { name: 'Password policy' }).click();
    const minLength = page.getByLabel('Minimum length');
    await minLength.fill('12');
    await page.getByLabel('Maximum age (days)').fill('90');
    await page.getByRole('button', { name: 'Save password policy' }).click();
    await page.getByText('Password policy saved').waitFor();
    await page.getByText("In force: this tenant's own.").waitFor();
    const policy = await t.call('GET', `/api/v1/tenants/${TENANT}/settings/password-policy`, { as: ADMIN });
    expect(policy.body).toEqual({
      policy: { minLength: 12, requiredClasses: 0, refuseCommon: true, refuseUsername: true, maxAgeDays: 90 },
      from: 'tenant',
    });
    await page.getByLabel('Maximum age (days)').fill('0');
    await page.getByRole('button', { name: 'Save password policy' }).click();
    await page.getByText('Password policy maxAgeDays must be an integer from 1 to 3650.').waitFor();
    expect(await page.getByLabel('Maximum age (days)').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Maximum age (days)').fill('90');
    await minLength.fill('4');
    await page.getByRole('button', { name: 'Save password policy' }).click();
    await expect.poll(() => minLength.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('.field-error').first().textContent()).toBe(
      'Password policy minLength must be an integer from 8 to 128.',
    );
    await screenshot(page, 'identity-password-policy');
    expect(pageErrors).toEqual([]);
  });

  it('asks for a new password at login when the old one has expired, following the policy', async () => {
    // The tenant admin's password was set 100 days ago; the policy above allows 90.
    const db = t.server.context.database.db;
    await db
      .updateTable('users')
      .set({ password_changed_at: Date.now() - 100 * DAY })
      .where('username', '=', 'admin')
      .where('tenant_id', '!=', 0)
      .execute();
    await page.getByRole('button', { name: 'Log out' }).click();
    await logIn(ADMIN[1]);
    await page.getByText(`The password of ${ADMIN[0]} has expired.`).waitFor();
    await page.getByLabel('New password', { exact: true }).fill('too-short');
    await page.getByLabel('New password again').fill('too-short');
    await page.getByRole('button', { name: 'Change password and log in' }).click();
    await page.getByText('needs at least 12 (minLength)').waitFor();
    await screenshot(page, 'identity-password-expired');
    await page.getByLabel('New password', { exact: true }).fill('acme-admin-new-pw');
    await page.getByLabel('New password again').fill('acme-admin-new-pw');
    await page.getByRole('button', { name: 'Change password and log in' }).click();
    await page.getByRole('link', { name: 'Audit' }).waitFor();
    const trail = await t.call('GET', `/api/v1/tenants/${TENANT}/audit?action=password.change`, {
      as: [ADMIN[0], 'acme-admin-new-pw'],
    });
    expect(trail.body.entries.map((e: { actor: string }) => e.actor)).toEqual([ADMIN[0]]);
    expect(pageErrors).toEqual([]);
  });
});
