import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js';
import { browse, CookieJar, signIn, startAuthorization } from './flow.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME = 'acme.com';
const BETA = 'beta.org';
const ACME_ADMIN: [string, string] = [`admin@${ACME}`, 'acme-admin-pw-1'];
const ALICE = { username: 'alice', password: 'alice-pw-123456' };
const REDIRECT = 'http://127.0.0.1:9/cb';

async function tenantId(t: TestServer, domain: string): Promise<number> {
  return (await t.server.context.tenants.require(domain)).id;
}

describe.each(['sqlite', 'postgres'] as const)('OpenID Connect provider on %s', (kind) => {
  let t: TestServer;
  let issuer: string;
  let publicClient: { clientId: string };

  beforeAll(async () => {
    t = await startTestServer(kind);
    issuer = `${t.server.url}/t/${ACME}/oidc`;
    for (const [domain, password] of [
      [ACME, ACME_ADMIN[1]],
      [BETA, 'beta-admin-pw-1'],
    ] as const)
      expect(
        (await t.call('POST', '/api/v1/tenants', { as: SUPER, body: { domain, adminPassword: password } }))
          .status,
      ).toBe(201);
    expect(
      (await t.call('POST', `/api/v1/tenants/${ACME}/roles`, { as: ACME_ADMIN, body: { name: 'staff' } }))
        .status,
    ).toBe(201);
    const alice = await t.call('POST', `/api/v1/tenants/${ACME}/users`, {
      as: ACME_ADMIN,
      body: {
        ...ALICE,
        roles: ['staff'],
        attributes: {
          email: 'alice@acme.com',
          given_name: 'Alice',
          family_name: 'Liddell',
          name: 'Alice Liddell',
        },
      },
    });
    expect(alice.status).toBe(201);
    const bob = await t.call('POST', `/api/v1/tenants/${BETA}/users`, {
      as: [`admin@${BETA}`, 'beta-admin-pw-1'],
      body: { username: 'bob', password: 'bob-pw-1234567', roles: [], attributes: {} },
    });
    expect(bob.status).toBe(201);
    const created = await t.call('POST', `/api/v1/tenants/${ACME}/oidc/clients`, {
      as: ACME_ADMIN,
      body: { name: 'Acme SPA', type: 'public', redirectUris: [REDIRECT] },
    });
    expect(created.status).toBe(201);
    expect(created.body.clientSecret).toBeUndefined();
    publicClient = created.body;
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
  });

  async function discover(clientId: string, secret?: string): Promise<client.Configuration> {
    return client.discovery(new URL(issuer), clientId, secret, undefined, {
      execute: [client.allowInsecureRequests],
    });
  }

  it('signs alice in with code + PKCE: ID token verified against the JWKS, userinfo claims, a refresh, a rotation', async () => {
    const config = await discover(publicClient.clientId);
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);

    const start = await startAuthorization(config, REDIRECT);
    const jar = new CookieJar();
    const { callback } = await signIn(jar, start.url.href, REDIRECT, ALICE);
    expect(callback).toBeDefined();
    const tokens = await client.authorizationCodeGrant(config, new URL(callback as string), {
      pkceCodeVerifier: start.verifier,
      expectedState: start.state,
    });
    expect(tokens.refresh_token).toBeTruthy();

    const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri as string));
    const verified = await jwtVerify(tokens.id_token as string, jwks, {
      issuer,
      audience: publicClient.clientId,
    });
    expect(verified.payload.sub).toBe('alice');
    const firstKid = decodeProtectedHeader(tokens.id_token as string).kid;

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, 'alice');
    expect(userinfo).toMatchObject({
      sub: 'alice',
      email: 'alice@acme.com',
      name: 'Alice Liddell',
      given_name: 'Alice',
      family_name: 'Liddell',
      roles: ['staff'],
    });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    await jwtVerify(refreshed.id_token as string, jwks, { issuer, audience: publicClient.clientId });

    const rotated = await t.call('POST', `/api/v1/tenants/${ACME}/oidc/keys/rotate`, { as: ACME_ADMIN });
    expect(rotated.status).toBe(200);
    expect(rotated.body.map((key: { status: string }) => key.status)).toEqual(['signing', 'retiring']);
    expect(rotated.body[1].kid).toBe(firstKid);
    expect(Date.parse(rotated.body[1].retiresAt)).toBeGreaterThan(Date.now() + 3_600_000);
    expect(JSON.stringify(rotated.body)).not.toMatch(/"d":/);

    const afterRotation = await client.refreshTokenGrant(
      config,
      refreshed.refresh_token ?? (tokens.refresh_token as string),
    );
    const newKid = decodeProtectedHeader(afterRotation.id_token as string).kid;
    expect(newKid).toBe(rotated.body[0].kid);
    const published = (await (await fetch(metadata.jwks_uri as string)).json()) as {
      keys: Record<string, string>[];
    };
    expect(published.keys.map((key) => key.kid)).toEqual([newKid, firstKid]);
    for (const key of published.keys) expect(key.d).toBeUndefined();
    const freshJwks = createRemoteJWKSet(new URL(metadata.jwks_uri as string));
    await jwtVerify(afterRotation.id_token as string, freshJwks, { issuer, audience: publicClient.clientId });
    await jwtVerify(tokens.id_token as string, freshJwks, { issuer, audience: publicClient.clientId });

    const audit = await t.call('GET', `/api/v1/tenants/${ACME}/audit?action=oidc.`, { as: ACME_ADMIN });
    expect(audit.body.entries.map((entry: { action: string }) => entry.action)).toEqual([
      'oidc.keys.rotate',
      'oidc.client.create',
    ]);
    const logins = await t.call('GET', `/api/v1/tenants/${ACME}/audit?action=login.success&actor=alice`, {
      as: ACME_ADMIN,
    });
    expect(logins.body.entries[0]).toMatchObject({ actor: 'alice', target: `oidc:${publicClient.clientId}` });
  });

  it('keeps tenants apart: a client of acme is unknown at beta, a user of beta cannot sign in at acme, guesses lock the sign-in page', async () => {
    const betaAuth = await fetch(
      `${t.server.url}/t/${BETA}/oidc/auth?client_id=${publicClient.clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT)}`,
      { redirect: 'manual' },
    );
    expect(betaAuth.status).toBe(400);
    expect(await betaAuth.text()).toContain('invalid_client');

    const config = await discover(publicClient.clientId);
    // A public client without PKCE is sent back with an error, no code.
    const withoutPkce = new URL(`${issuer}/auth`);
    for (const [name, value] of Object.entries({
      client_id: publicClient.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: REDIRECT,
    }))
      withoutPkce.searchParams.set(name, value);
    const refusedPkce = await fetch(withoutPkce, { redirect: 'manual' });
    const back = new URL(refusedPkce.headers.get('location') ?? '', issuer);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('code')).toBeNull();

    const start = await startAuthorization(config, REDIRECT, 'openid');
    for (const username of ['bob', `bob@${BETA}`]) {
      const outcome = await signIn(new CookieJar(), start.url.href, REDIRECT, {
        username,
        password: 'bob-pw-1234567',
      });
      expect(outcome.callback).toBeUndefined();
      expect(outcome.refused?.status).toBe(401);
      expect(outcome.refused?.text).toContain('Invalid user name or password.');
    }
    // A form without this sign-in's token is refused before any password is checked; an unknown one is expired.
    const jar = new CookieJar();
    const toPage = await browse(jar, start.url.href);
    const pageUrl = new URL(toPage.location ?? '', issuer).href;
    expect(pageUrl).toMatch(/\/interaction\/[^/]+$/);
    const forged = await browse(jar, `${pageUrl}/login`, { csrf: 'forged', ...ALICE });
    expect(forged.status).toBe(403);
    expect((await browse(new CookieJar(), `${pageUrl}/login`, { csrf: 'x', ...ALICE })).status).toBe(400);
    const page = await browse(jar, pageUrl);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign in to Acme SPA');

    // The sign-in page is behind the login lockout: a fifth wrong password locks the account (existing or not).
    for (let i = 0; i < 5; i++) {
      const refused = await signIn(new CookieJar(), start.url.href, REDIRECT, {
        username: 'mallory',
        password: `guess-${i}`,
      });
      expect(refused.refused?.status).toBe(401);
    }
    const locked = await signIn(new CookieJar(), start.url.href, REDIRECT, {
      username: 'mallory',
      password: 'guess-5',
    });
    expect(locked.refused?.status).toBe(429);
    expect(locked.refused?.text).toContain('Too many failed logins');
    const betaAdmin = await t.call('GET', `/api/v1/tenants/${ACME}/oidc/clients`, {
      as: [`admin@${BETA}`, 'beta-admin-pw-1'],
    });
    expect(betaAdmin.status).toBe(404);
  });

  it('registers confidential clients with a secret shown once, checks redirect URIs, counts wrong secrets', async () => {
    const bad = await t.call('POST', `/api/v1/tenants/${ACME}/oidc/clients`, {
      as: ACME_ADMIN,
      body: { name: 'Evil', type: 'confidential', redirectUris: ['http://evil.example/cb'] },
    });
    expect(bad.status).toBe(400);
    const created = await t.call('POST', `/api/v1/tenants/${ACME}/oidc/clients`, {
      as: ACME_ADMIN,
      body: {
        name: 'Acme portal',
        type: 'confidential',
        redirectUris: ['https://portal.acme.com/cb'],
        firstParty: true,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { clientId } = created.body;
    const read = await t.call('GET', `/api/v1/tenants/${ACME}/oidc/clients/${clientId}`, { as: ACME_ADMIN });
    expect(read.body).toMatchObject({ clientId, type: 'confidential', firstParty: true });
    expect(JSON.stringify(read.body)).not.toContain(created.body.clientSecret);
    const row = await t.server.context.database.db
      .selectFrom('oidc_clients')
      .select(['secret_hash', 'metadata'])
      .where('client_id', '=', clientId)
      .executeTakeFirstOrThrow();
    expect(`${row.secret_hash}${row.metadata}`).not.toContain(created.body.clientSecret);

    // A wrong secret at the token endpoint: 401 invalid_client, counted against the client like a password.
    const token = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:wrong-secret`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=refresh_token&refresh_token=nothing',
    });
    expect(token.status).toBe(401);
    expect(((await token.json()) as { error: string }).error).toBe('invalid_client');
    const counted = await t.server.context.database.db
      .selectFrom('login_failures')
      .select(['failures'])
      .where('kind', '=', 'account')
      .where('subject', '=', `${await tenantId(t, ACME)}/OIDC-CLIENT/${clientId.toLowerCase()}`)
      .executeTakeFirst();
    expect(counted?.failures).toBe(1);

    // Four more wrong secrets make five, the account rule's limit: the next attempt, even with the right
    // secret, is refused unchecked (429 with Retry-After) until an admin clears the lock.
    const rightSecret = () =>
      fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${created.body.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=refresh_token&refresh_token=nothing',
      });
    for (let i = 0; i < 4; i++) {
      const attempt = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:wrong-${i}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=refresh_token&refresh_token=nothing',
      });
      expect(attempt.status).toBe(401);
    }
    const locked = await rightSecret();
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await locked.json()) as { error: string }).error).toBe('too_many_attempts');
    expect(
      (
        await t.call('DELETE', `/api/v1/tenants/${ACME}/lockouts/OIDC-CLIENT%2F${clientId}`, {
          as: ACME_ADMIN,
        })
      ).status,
    ).toBe(204);
    // Unlocked, the right secret authenticates the client (the refresh token is what is refused now).
    const unlocked = await rightSecret();
    expect(unlocked.status).toBe(400);
    expect(((await unlocked.json()) as { error: string }).error).toBe('invalid_grant');

    const updated = await t.call('PUT', `/api/v1/tenants/${ACME}/oidc/clients/${clientId}`, {
      as: ACME_ADMIN,
      body: { name: 'Acme portal 2', type: 'confidential', redirectUris: ['https://portal.acme.com/cb2'] },
    });
    expect(updated.body).toMatchObject({
      name: 'Acme portal 2',
      redirectUris: ['https://portal.acme.com/cb2'],
      firstParty: false,
    });
    expect(
      (await t.call('DELETE', `/api/v1/tenants/${ACME}/oidc/clients/${clientId}`, { as: ACME_ADMIN })).status,
    ).toBe(204);
    expect(
      (await t.call('GET', `/api/v1/tenants/${ACME}/oidc/clients/${clientId}`, { as: ACME_ADMIN })).status,
    ).toBe(404);
    const actions = await t.call('GET', `/api/v1/tenants/${ACME}/audit?action=oidc.client`, {
      as: ACME_ADMIN,
    });
    expect(
      actions.body.entries.slice(0, 3).map((entry: { action: string; target: string }) => entry.action),
    ).toEqual(['oidc.client.delete', 'oidc.client.update', 'oidc.client.create']);
  });

  it('signs in, exchanges the code and refreshes while maintenance mode is on: a login path, not an admin write', async () => {
    expect((await t.call('PUT', '/api/v1/maintenance', { as: SUPER, body: {} })).status).toBe(200);
    try {
      const config = await discover(publicClient.clientId);
      const start = await startAuthorization(config, REDIRECT);
      const { callback } = await signIn(new CookieJar(), start.url.href, REDIRECT, ALICE);
      expect(callback).toBeDefined();
      const tokens = await client.authorizationCodeGrant(config, new URL(callback as string), {
        pkceCodeVerifier: start.verifier,
        expectedState: start.state,
      });
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
      expect(refreshed.access_token).toBeTruthy();
      // An admin write still waits for the end of the maintenance.
      const refused = await t.call('POST', `/api/v1/tenants/${ACME}/oidc/keys/rotate`, { as: ACME_ADMIN });
      expect(refused.status).toBe(503);
    } finally {
      expect((await t.call('DELETE', '/api/v1/maintenance', { as: SUPER })).status).toBe(200);
    }
  });

  it('answers end-session with a sign-out page, and lists the API in /openapi.json', async () => {
    // Without a session there is nothing to ask: the provider's page confirms at once, and the end is ours.
    const logout = await fetch(`${issuer}/session/end?client_id=${publicClient.clientId}`);
    expect(logout.status).toBe(200);
    const confirm = await logout.text();
    expect(confirm).toContain(`${issuer}/session/end/confirm`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm)?.[1] ?? '';
    const cookie = logout.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const ended = await fetch(`${issuer}/session/end/confirm`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    expect(ended.status).toBe(200);
    expect(await ended.text()).toContain('You are signed out.');
    const openapi = await t.call('GET', '/openapi.json');
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/tenants/{domain}/oidc/clients',
        '/api/v1/tenants/{domain}/oidc/keys/rotate',
      ]),
    );
  });
});
