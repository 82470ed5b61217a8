import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { homeLayout, SUPER_TENANT_DOMAIN, SUPER_TENANT_ID, webappsFolder } from '../../../src/home/layout.js';
import {
  type AppCheck,
  type AppsChecked,
  checkDeployedApps,
} from '../../../src/upgrade/steps/smoke/app-checks.js';
import { ApiClient } from '../../../src/upgrade/steps/smoke/client.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../helpers/server.js';
import { writeNodeApp } from '../fixture-apps.js';

/** Healthy for the runtime's own check (its first request), failing for every request after it. */
const TURNS_SICK = `
let asked = 0;
export default {
  fetch() {
    asked += 1;
    return asked === 1 ? new Response('ok') : new Response('lost its database\\nsecond line', { status: 500 });
  },
};
`;

/** An entry that never finishes loading. */
const NEVER_LOADS = `
await new Promise(() => {});
export default { fetch: () => new Response('never') };
`;

const PLAIN = `
export default { fetch: () => new Response('plain', { status: 404 }) };
`;

/**
 * The app checks against a real server (the smoke step runs them against the new release the same way):
 * the failures the e2e upgrade tests do not make. Engine-independent: they only speak HTTP.
 */
describe('the smoke step checking deployed apps', () => {
  let t: TestServer;
  let result: AppsChecked;

  beforeAll(async () => {
    t = await startTestServer('sqlite', (text, home) => {
      const webapps = webappsFolder(homeLayout(home), SUPER_TENANT_ID);
      writeNodeApp(webapps, 'turns-sick', TURNS_SICK, '/healthz');
      writeNodeApp(webapps, 'never-loads', NEVER_LOADS);
      writeFileSync(
        path.join(webapps, 'never-loads', 'tessera-app.toml'),
        'entry = "server.mjs"\n[limits]\nstart_timeout_s = 1\n',
      );
      writeNodeApp(webapps, 'plain', PLAIN);
      mkdirSync(path.join(webapps, 'misconfigured'), { recursive: true });
      writeFileSync(path.join(webapps, 'misconfigured', 'tessera-app.toml'), 'colour = "blue"\n');
      return text;
    });
    const admin = ['admin', ADMIN_PASSWORD] as [string, string];
    for (const domain of ['dormant.example', 'smoke.example']) {
      const created = await t.call('POST', '/api/v1/tenants', {
        as: admin,
        body: { domain, adminPassword: 'pw-123456' },
      });
      expect(created.status).toBe(201);
    }
    expect(
      (await t.call('PATCH', '/api/v1/tenants/dormant.example', { as: admin, body: { active: false } }))
        .status,
    ).toBe(200);
    result = await checkDeployedApps(
      new ApiClient(t.server.url, { username: 'admin', password: ADMIN_PASSWORD }),
      new ApiClient(t.server.url, undefined),
      new Set(['smoke.example']),
    );
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
  });

  const app = (name: string): AppCheck | undefined => result.checked.find((check) => check.name === name);

  it('lists the active tenants only, without the ones it is told to skip', () => {
    expect(new Set(result.checked.map((check) => check.tenant))).toEqual(new Set([SUPER_TENANT_DOMAIN]));
    expect(result.inactiveTenants).toEqual(['dormant.example']);
    expect(result.checked.map((check) => check.name).sort()).toEqual([
      'misconfigured',
      'never-loads',
      'plain',
      'turns-sick',
    ]);
  });

  it("fails a node app whose health path stops answering 2xx, with the answer's first lines", () => {
    expect(app('turns-sick')).toMatchObject({
      runtime: 'node',
      state: 'running',
      path: '/turns-sick/healthz',
      httpStatus: 500,
      ok: false,
      errorLines: ['GET /turns-sick/healthz answered 500: lost its database', 'second line'],
    });
  });

  it('waits for a node app up to its start timeout, and fails it when the runtime gives up', () => {
    const check = app('never-loads');
    expect(check).toMatchObject({ runtime: 'node', state: 'error', ok: false });
    expect(check?.errorLines?.[0]).toMatch(/did not become ready within 1 s/);
    expect(check?.httpStatus).toBeUndefined();
  });

  it("takes any answer but a 5xx from a node app's mount when it has no health path", () => {
    expect(app('plain')).toMatchObject({ state: 'running', path: '/plain/', httpStatus: 404, ok: true });
  });

  it('fails an entry the new release refuses to deploy, with its reason', () => {
    const check = app('misconfigured');
    expect(check).toMatchObject({ state: 'refused', ok: false });
    expect(check?.runtime).toBeUndefined();
    expect(check?.errorLines?.[0]).toMatch(/colour/);
  });
});
