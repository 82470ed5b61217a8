import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot } from '../../console/browser.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME = 'acme.com';
const ACME_ADMIN: [string, string] = [`admin@${ACME}`, 'acme-admin-pw-1'];

/** The sign-in page as a user meets it: Chromium fills the form, and the client gets its code. */
describe('OpenID Connect sign-in in Chromium', () => {
  let t: TestServer;
  let browser: Browser;
  /** The client's redirect URI: a server that answers anything (a redirect is not something a route intercepts). */
  let clientSite: Server;
  let REDIRECT: string;

  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestServer('sqlite'), launchBrowser()]);
    clientSite = createServer((_request, response) => response.end('client reached'));
    await new Promise<void>((resolve) => clientSite.listen(0, '127.0.0.1', resolve));
    REDIRECT = `http://127.0.0.1:${(clientSite.address() as AddressInfo).port}/cb`;
    expect(
      (
        await t.call('POST', '/api/v1/tenants', {
          as: SUPER,
          body: { domain: ACME, adminPassword: ACME_ADMIN[1] },
        })
      ).status,
    ).toBe(201);
    const alice = await t.call('POST', `/api/v1/tenants/${ACME}/users`, {
      as: ACME_ADMIN,
      body: { username: 'alice', password: 'alice-pw-123456', roles: [], attributes: { name: 'Alice' } },
    });
    expect(alice.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    clientSite?.close();
    await t?.stop();
  });

  it('signs alice in through the interaction page and redirects to the client with a code', async () => {
    const registered = await t.call('POST', `/api/v1/tenants/${ACME}/oidc/clients`, {
      as: ACME_ADMIN,
      body: { name: 'Acme <b>SPA</b>', type: 'public', redirectUris: [REDIRECT], firstParty: true },
    });
    const issuer = `${t.server.url}/t/${ACME}/oidc`;
    const config = await client.discovery(new URL(issuer), registered.body.clientId, undefined, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'browser-state',
    });

    const page = await browser.newPage();
    await page.goto(url.href);
    // The client's name is text, never markup.
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in to Acme <b>SPA</b>');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'wrong-password-1');
    await page.click('button[type=submit]');
    await expect(page.locator('[role=alert]').textContent()).resolves.toBe('Invalid user name or password.');
    await page.fill('#password', 'alice-pw-123456');
    await screenshot(page, 'oidc-sign-in');
    await Promise.all([page.waitForURL(`${REDIRECT}**`), page.click('button[type=submit]')]);

    const callback = new URL(page.url());
    expect(callback.searchParams.get('state')).toBe('browser-state');
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 'browser-state',
    });
    const verified = await jwtVerify(
      tokens.id_token as string,
      createRemoteJWKSet(new URL(`${issuer}/jwks`)),
      {
        issuer,
        audience: registered.body.clientId,
      },
    );
    expect(verified.payload.sub).toBe('alice');
    await page.close();
  });

  it("manages the tenant's clients and keys on the console's OpenID Connect page", async () => {
    const page = await browser.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${t.server.url}/console/`);
    await page.getByLabel('User name').fill(ACME_ADMIN[0]);
    await page.getByLabel('Password').fill(ACME_ADMIN[1]);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('link', { name: 'OpenID Connect' }).click();
    const keys = page.getByRole('region', { name: 'Signing keys' });
    await keys.getByRole('cell', { name: 'signing', exact: true }).waitFor();

    const form = page.getByRole('region', { name: 'Register a client' });
    await form.getByLabel('Client name').fill('Portal');
    await form.getByLabel('Redirect URIs').fill('https://portal.acme.com/cb');
    await form.getByRole('button', { name: 'Register client' }).click();
    const notice = form.getByRole('status');
    await notice.waitFor();
    const secret = /Its secret, shown this once: (\S+)/.exec((await notice.textContent()) ?? '')?.[1];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const clients = page.getByRole('region', { name: `Clients of ${ACME}` });
    await clients.getByRole('cell', { name: 'Portal', exact: true }).waitFor();
    // What the page listed is what the API holds, and the secret is nowhere in it.
    const listed = await t.call('GET', `/api/v1/tenants/${ACME}/oidc/clients`, { as: ACME_ADMIN });
    expect(listed.body.map((client: { name: string }) => client.name)).toContain('Portal');
    expect(await clients.textContent()).not.toContain(secret);

    await keys.getByRole('button', { name: 'Rotate signing key' }).click();
    await keys.getByRole('cell', { name: 'retiring', exact: true }).waitFor();
    expect(await keys.getByRole('row').count()).toBe(3);
    await screenshot(page, 'oidc-console');
    await clients.getByRole('button', { name: 'Remove Portal' }).click();
    await clients.getByRole('cell', { name: 'Portal', exact: true }).waitFor({ state: 'detached' });
    await page.close();
  });
});
