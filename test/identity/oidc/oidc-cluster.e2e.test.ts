import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/server/start.js';
import { waitFor } from '../../helpers/cluster.js';
import {
  ADMIN_PASSWORD,
  callJson,
  startServerOn,
  startTestServer,
  type TestServer,
  writeConfig,
} from '../../helpers/server.js';
import { CookieJar, signIn, startAuthorization } from './flow.js';

const SUPER: [string, string] = ['admin', ADMIN_PASSWORD];
const ACME = 'acme.com';
const ACME_ADMIN: [string, string] = [`admin@${ACME}`, 'acme-admin-pw-1'];
const ALICE = { username: 'alice', password: 'alice-pw-123456' };
const REDIRECT = 'http://127.0.0.1:9/cb';

/**
 * Two nodes on one PostgreSQL database behind one public URL (node A's): an authorization begun on A is
 * signed in, exchanged and refreshed on B, since every code, interaction and session is in the database.
 */
describe('OpenID Connect across nodes (PostgreSQL)', () => {
  let a: TestServer;
  let b: RunningServer;

  beforeAll(async () => {
    a = await startTestServer('postgres');
    const home = path.join(a.scratch.home, 'node-b');
    writeConfig(home, a.scratch.url);
    const file = path.join(home, 'conf', 'tessera.toml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/^\[server\]$/m, `[server]\npublic_url = "${a.server.url}"`),
    );
    // Every node of a cluster has the same conf/secrets.key (README, OpenID Connect): B gets A's, as an
    // operator copies it, or B could not open the keys A sealed.
    writeFileSync(
      path.join(home, 'conf', 'secrets.key'),
      readFileSync(path.join(a.home, 'conf', 'secrets.key')),
      { mode: 0o600 },
    );
    b = await startServerOn(home, 'warn');
    expect(
      (
        await a.call('POST', '/api/v1/tenants', {
          as: SUPER,
          body: { domain: ACME, adminPassword: ACME_ADMIN[1] },
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await a.call('POST', `/api/v1/tenants/${ACME}/users`, {
          as: ACME_ADMIN,
          body: { ...ALICE, roles: [], attributes: {} },
        })
      ).status,
    ).toBe(201);
    // B serves acme.com once its tenant follower has seen it.
    await waitFor('node B to serve acme.com', async () => {
      const answer = await callJson(b.url, 'POST', '/api/v1/authenticate', {
        body: { username: `alice@${ACME}`, password: ALICE.password },
      });
      return answer.status === 200 ? true : undefined;
    });
  }, 60_000);

  afterAll(async () => {
    await b?.close();
    await a?.stop();
  });

  it('begins on node A and finishes on node B: sign-in, code exchange, userinfo, refresh', async () => {
    const registered = await a.call('POST', `/api/v1/tenants/${ACME}/oidc/clients`, {
      as: ACME_ADMIN,
      body: { name: 'Cluster app', type: 'public', redirectUris: [REDIRECT], firstParty: true },
    });
    expect(registered.status).toBe(201);
    const issuer = `${a.server.url}/t/${ACME}/oidc`;
    const toB = (url: string) => url.replace(a.server.url, b.url);
    // Every request after discovery goes to B, though the URLs (the issuer's) name A.
    const config = await client.discovery(new URL(issuer), registered.body.clientId, undefined, undefined, {
      execute: [client.allowInsecureRequests],
    });
    config[client.customFetch] = (url, options) => fetch(toB(url), options);

    const start = await startAuthorization(config, REDIRECT, 'openid offline_access');
    const jar = new CookieJar();
    let steps = 0;
    const { callback, refused } = await signIn(jar, start.url.href, REDIRECT, ALICE, {
      // The authorization request on A, everything after it on B.
      origin: (url) => (steps++ === 0 ? url : toB(url)),
    });
    expect(refused, `refused at step ${steps}`).toBeUndefined();
    expect(steps).toBeGreaterThan(2);
    expect(callback).toBeDefined();

    const tokens = await client.authorizationCodeGrant(config, new URL(callback as string), {
      pkceCodeVerifier: start.verifier,
      expectedState: start.state,
    });
    const jwksOfA = createRemoteJWKSet(new URL(`${issuer}/jwks`));
    await jwtVerify(tokens.id_token as string, jwksOfA, { issuer, audience: registered.body.clientId });
    expect(await client.fetchUserInfo(config, tokens.access_token, 'alice')).toMatchObject({ sub: 'alice' });
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
    await jwtVerify(refreshed.id_token as string, jwksOfA, { issuer, audience: registered.body.clientId });
  });
});
