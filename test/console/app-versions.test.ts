import type { Browser, Locator, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, basicAuthorization, startTestServer, type TestServer } from '../helpers/server.js';
import { buildZip } from '../webapps/helpers.js';
import { launchBrowser, screenshot } from './browser.js';

/*
 * The console's versions panel against a real server: versions deployed through the API, one rolled back
 * to with a click, and a rollback refused because the version was pruned after the page was loaded. The
 * server keeps two versions' zips (deployment.keep_versions = 2) so that two more deploys prune them.
 */

const TENANT = 'shop.example';
const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const TENANT_ADMIN: [string, string] = [`admin@${TENANT}`, 'shop-admin-pw'];
const APP_URL = `/t/${TENANT}/shop/`;

let t: TestServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/** Every confirmation the page asked, and how the next ones are answered. */
const questions: string[] = [];
let answer: 'accept' | 'dismiss' = 'dismiss';

beforeAll(async () => {
  t = await startTestServer('sqlite', (text) => {
    const kept = text.replace(/^keep_versions = \d+$/m, 'keep_versions = 2');
    if (kept === text) throw new Error('no keep_versions line in the default config');
    return kept;
  });
  const created = await t.call('POST', '/api/v1/tenants', {
    as: SUPER,
    body: { domain: TENANT, adminPassword: TENANT_ADMIN[1] },
  });
  expect(created.status).toBe(201);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('dialog', (dialog) => {
    questions.push(dialog.message());
    void (answer === 'accept' ? dialog.accept() : dialog.dismiss());
  });
}, 120_000);

afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && page)
    await screenshot(page, `failed-versions-${context.task.name.slice(0, 30)}`);
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

/** Uploads `files` as the app `name` of the tenant: the answer's status and body. */
async function upload(name: string, files: Record<string, string>, as: [string, string]) {
  const response = await fetch(`${t.server.url}/api/v1/tenants/${TENANT}/webapps?name=${name}`, {
    method: 'POST',
    headers: { authorization: basicAuthorization(as), 'content-type': 'application/zip' },
    body: await buildZip(files),
  });
  return { status: response.status, body: (await response.json()) as WebAppView };
}

interface WebAppView {
  version: string;
  status?: { state: string; version?: string; failed?: { version: string; reason: string } };
}

/** Uploads version `n` of the static app `shop`, whose page says "Shop v<n>". */
async function deploy(n: number, as: [string, string]): Promise<void> {
  const uploaded = await upload('shop', { 'index.html': `<h1>Shop v${n}</h1>` }, as);
  expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
  expect(uploaded.body.version).toBe(String(n));
}

const served = async (url = APP_URL) => (await fetch(`${t.server.url}${url}`)).text();
const localTime = (iso: string) => page.evaluate((at) => new Date(at).toLocaleString(), iso);
/** The versions table's rows, newest first as the page shows them. */
const rows = (panel: Locator) => panel.locator('tbody tr');

describe('the versions of an app in the console', () => {
  it('lists the versions with who deployed them, rolls back to one with a click and shows a pruned one refused', async () => {
    await deploy(1, TENANT_ADMIN);
    await deploy(2, SUPER);
    expect(await served()).toBe('<h1>Shop v2</h1>');
    const listed = (await t.call('GET', `/api/v1/tenants/${TENANT}/webapps/shop/versions`, { as: SUPER }))
      .body;
    expect(listed.versions.map((v: { deployedBy: string }) => v.deployedBy)).toEqual([
      'admin@carbon.super',
      `admin@${TENANT}`,
    ]);
    // The node has reported version 2 (within a second of the deploy), so the list the page loads says so.
    await expect
      .poll(
        async () =>
          (await t.call('GET', `/api/v1/tenants/${TENANT}/webapps`, { as: SUPER })).body.webapps[0].nodes,
      )
      .toEqual([{ node: expect.any(String), state: 'serving', version: '2' }]);

    await page.goto(`${t.server.url}/console/`);
    await page.getByLabel('User name').fill(TENANT_ADMIN[0]);
    await page.getByLabel('Password').fill(TENANT_ADMIN[1]);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('link', { name: 'Web applications' }).click();
    const opener = page.getByRole('button', { name: 'Versions of shop', exact: true });
    await opener.click();
    expect(await opener.getAttribute('aria-expanded')).toBe('true');
    const panel = page.getByRole('region', { name: 'Versions of shop', exact: true });
    await rows(panel).nth(1).waitFor();
    // Opening the panel takes the keyboard focus to it.
    expect(await page.evaluate<string>('document.activeElement?.textContent ?? ""')).toBe('Versions of shop');
    expect(await panel.locator('dl').textContent()).toContain('This node servesversion 2');
    expect(await page.getByTestId('nodes-shop').textContent()).toBe('on 1 of 1 node');

    const [newest, oldest] = [rows(panel).nth(0), rows(panel).nth(1)];
    expect(await rows(panel).count()).toBe(2);
    const cells = async (row: Locator) => row.getByRole('cell').allTextContents();
    const [v2, v1] = listed.versions;
    expect(await cells(newest)).toEqual([
      '2current',
      'admin@carbon.super',
      await localTime(v2.deployedAt),
      'upload',
      `${v2.sizeBytes} B`,
      `${v2.checksum.slice(0, 12)}…`,
      '',
      '',
    ]);
    expect((await cells(oldest)).slice(0, 2)).toEqual(['1', `admin@${TENANT}`]);
    expect(await oldest.locator('.mono').getAttribute('title')).toBe(v1.checksum);
    expect(await newest.getByRole('button').count()).toBe(0);
    await screenshot(page, 'versions-01-listed');

    // Declining the confirmation changes nothing.
    const rollBack = oldest.getByRole('button', { name: 'Roll back to 1' });
    await rollBack.click();
    await expect
      .poll(() => questions)
      .toEqual([
        'Roll shop back to version 1? Every node starts it beside version 2 and switches to it once it runs.',
      ]);
    expect(await served()).toBe('<h1>Shop v2</h1>');

    // By keyboard, confirmed. The call is held in the browser until the page was seen waiting on it.
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let rollbackCalls = 0;
    await page.route('**/webapps/shop/rollback', async (route: Route) => {
      rollbackCalls++;
      await held;
      await route.continue();
    });
    answer = 'accept';
    await rollBack.focus();
    await page.keyboard.press('Enter');
    const waiting = panel.getByRole('button', { name: 'Rolling back to 1…' });
    await waiting.waitFor();
    expect(await waiting.isDisabled()).toBe(true);
    expect(await panel.getByRole('status').textContent()).toContain('Rolling shop back to version 1');
    expect(await panel.locator('table').getAttribute('aria-busy')).toBe('true');
    await waiting.click({ force: true }); // a second click while the call runs: ignored, asks nothing
    expect(questions).toHaveLength(2);
    release();
    await panel.getByText('shop now serves version 1 on this node.').waitFor();
    await page.unroute('**/webapps/shop/rollback');
    expect(rollbackCalls).toBe(1);

    await expect.poll(() => cells(oldest)).toContain('1current');
    expect((await cells(newest))[0]).toBe('2');
    expect(await newest.getByRole('button', { name: 'Roll back to 2' }).isEnabled()).toBe(true);
    expect(await panel.locator('dl').textContent()).toContain('This node servesversion 1');
    expect(await served()).toBe('<h1>Shop v1</h1>');
    await screenshot(page, 'versions-02-rolled-back');

    // Two deploys behind the page's back prune versions 1 and 2 (two kept, the current one always): the
    // page still offers version 2, and the server's refusal is what it shows.
    await deploy(3, SUPER);
    await deploy(4, SUPER);
    await newest.getByRole('button', { name: 'Roll back to 2' }).click();
    const refusal = panel.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe(
      'Version 2 of app "shop" is no longer kept (deployment.keep_versions): it cannot be served again. (CONFLICT)',
    );
    // The list is read again: 4 current, 1 and 2 pruned with nothing to click.
    await expect.poll(() => rows(panel).count()).toBe(4);
    expect((await cells(rows(panel).nth(0)))[0]).toBe('4current');
    for (const pruned of [2, 3]) {
      const row = rows(panel).nth(pruned);
      expect((await cells(row))[6]).toBe('pruned');
      expect(await row.getByRole('button').count()).toBe(0);
    }
    expect(await served()).toBe('<h1>Shop v4</h1>');
    await screenshot(page, 'versions-03-pruned-refused');

    // Closing the panel puts the keyboard focus back on the button that opened it.
    await panel.getByRole('button', { name: 'Close the versions of shop' }).click();
    await expect.poll(() => panel.count()).toBe(0);
    expect(
      await page.evaluate<string>(
        'document.activeElement?.tagName + " " + document.activeElement?.textContent',
      ),
    ).toBe('BUTTON Versions of shop');
    expect(await opener.getAttribute('aria-expanded')).toBe('false');
    expect(pageErrors).toEqual([]);
  });

  it("shows a node app's failed version with why, and the refusal of a rollback to it", async () => {
    const app = (code: string) => ({ 'tessera-app.toml': 'entry = "server.mjs"', 'server.mjs': code });
    const good = await upload(
      'orders',
      app('export default { fetch: () => new Response("orders v1") }'),
      SUPER,
    );
    expect(good.body.status?.state, JSON.stringify(good.body)).toBe('running');
    const broken = await upload('orders', app('export default {'), SUPER);
    expect(broken.status).toBe(201);
    expect(broken.body.status?.failed?.version).toBe('2');

    // The list is read again on the way back to the page.
    await page.getByRole('link', { name: 'Registry' }).click();
    await page.getByRole('link', { name: 'Web applications' }).click();
    await page.getByRole('button', { name: 'Versions of orders', exact: true }).click();
    const panel = page.getByRole('region', { name: 'Versions of orders', exact: true });
    await rows(panel).nth(1).waitFor();
    const facts = panel.locator('dl');
    expect(await facts.textContent()).toContain('This node servesversion 1running');
    expect(await facts.textContent()).toMatch(/Last failedversion 2 at .*SyntaxError/);
    const failed = rows(panel).nth(0);
    expect(await failed.getByRole('cell').nth(6).textContent()).toMatch(/^ did not start: .*SyntaxError/);
    expect((await rows(panel).nth(1).getByRole('cell').allTextContents())[0]).toBe('1current');

    // A failed version can be tried again: the question says it failed before, the server says no again.
    await failed.getByRole('button', { name: 'Roll back to 2' }).click();
    await expect
      .poll(() => questions.at(-1))
      .toMatch(/^Roll orders back to version 2\? .* It failed to start before: /);
    const refusal = panel.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(
      /^Version 2 of app "orders" did not start \(.*SyntaxError.*\)\. Version 1 stays current\. \(CONFLICT\)$/s,
    );
    expect((await rows(panel).nth(1).getByRole('cell').allTextContents())[0]).toBe('1current');
    expect(await served('/t/shop.example/orders/')).toBe('orders v1');
    await screenshot(page, 'versions-04-node-app-failed');
    expect(pageErrors).toEqual([]);
  });
});
