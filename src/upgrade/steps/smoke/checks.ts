import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TesseraError } from '../../../errors.js';
import { type HomeLayout, tenantFolder, webappsFolder } from '../../../home/layout.js';
import type { CheckLog } from './check-log.js';
import type { ApiClient } from './client.js';
import type { SmokeNames, SmokeTenant } from './names.js';

/** A smoke tenant once created: its id, and the accounts made in it (as `/authenticate` takes them). */
export interface CreatedTenant extends SmokeTenant {
  id: number;
  storeCreated: boolean;
  accounts: string[];
}

/** The passwords of this run's smoke accounts: random, never written anywhere. */
export interface SmokePasswords {
  tenantAdmin: string;
  user: string;
}

const APP_WAIT_MS = 20_000;
const APP_POLL_MS = 100;

export function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Creates the smoke tenants through the API and marks their folders as the smoke test's. */
export async function createTenants(
  api: ApiClient,
  log: CheckLog,
  names: SmokeNames,
  layout: HomeLayout,
  passwords: SmokePasswords,
  created: CreatedTenant[],
): Promise<void> {
  for (const tenant of names.tenants) {
    const reply = await log.check(`create tenant ${tenant.domain}`, () =>
      api.expect(201, 'POST', '/api/v1/tenants', {
        domain: tenant.domain,
        adminPassword: passwords.tenantAdmin,
      }),
    );
    const id = (reply.body as { id: number }).id;
    created.push({ ...tenant, id, storeCreated: false, accounts: [`admin@${tenant.domain}`] });
    await writeFile(
      path.join(tenantFolder(layout, id), names.markerFile),
      `tessera upgrade smoke test ${names.runId}\n`,
    );
  }
}

/** Gives each smoke tenant its own secondary JDBC store, and a user in PRIMARY and in that store. */
export async function createStoresAndUsers(
  api: ApiClient,
  log: CheckLog,
  names: SmokeNames,
  passwords: SmokePasswords,
  created: CreatedTenant[],
): Promise<void> {
  for (const tenant of created) {
    const base = `/api/v1/tenants/${encodeURIComponent(tenant.domain)}`;
    const store = await log.check(`create store ${tenant.store} in ${tenant.domain}`, () =>
      api.expect(201, 'POST', `${base}/userstores`, {
        domain: tenant.store,
        type: 'jdbc',
        url: tenant.storeUrl,
        readOnly: false,
      }),
    );
    tenant.storeCreated = true;
    const status = (store.body as { status?: string }).status;
    if (status !== 'up') {
      throw new TesseraError(
        'SMOKE_FAILED',
        `Smoke test: store ${tenant.store} of ${tenant.domain} is ${status ?? 'unknown'}, not up.`,
      );
    }
    for (const username of [names.user, `${tenant.store}/${names.user}`]) {
      await log.check(`create user ${username}@${tenant.domain}`, () =>
        api.expect(201, 'POST', `${base}/users`, { username, password: passwords.user, roles: [] }),
      );
      tenant.accounts.push(`${username}@${tenant.domain}`);
    }
  }
}

/**
 * Logs in as every account made (200, in the right tenant and store), then checks two refusals: a wrong
 * password, and a store of one tenant named in another (tenants are isolated).
 */
export async function authenticateSmokeAccounts(
  anonymous: ApiClient,
  log: CheckLog,
  names: SmokeNames,
  passwords: SmokePasswords,
  created: CreatedTenant[],
): Promise<void> {
  for (const tenant of created) {
    for (const account of tenant.accounts) {
      const password = account.startsWith('admin@') ? passwords.tenantAdmin : passwords.user;
      await log.check(`authenticate ${account}`, async () => {
        const reply = await anonymous.expect(200, 'POST', '/api/v1/authenticate', {
          username: account,
          password,
        });
        const body = reply.body as { tenant?: string; store?: string };
        const store = account.includes('/') ? tenant.store : 'PRIMARY';
        if (body.tenant !== tenant.domain || body.store !== store) {
          throw new TesseraError(
            'SMOKE_FAILED',
            `Smoke test: ${account} logged into ${body.store}@${body.tenant}, not ${store}@${tenant.domain}.`,
          );
        }
      });
    }
  }
  const [first, second] = created;
  if (first === undefined) return;
  await log.check('refuse a wrong password', () =>
    anonymous.expect(401, 'POST', '/api/v1/authenticate', {
      username: `${names.user}@${first.domain}`,
      password: `${passwords.user}-wrong`,
    }),
  );
  if (second === undefined) return;
  const foreign = `${first.store}/${names.user}@${second.domain}`;
  await log.check(`refuse ${foreign} (another tenant's store)`, () =>
    anonymous.expect(401, 'POST', '/api/v1/authenticate', { username: foreign, password: passwords.user }),
  );
}

/**
 * Drops a web application into a smoke tenant's `webapps/` (built beside it and renamed in, as an
 * operator's copy would land) and waits until the server serves it.
 */
export async function deployProbeApp(
  anonymous: ApiClient,
  log: CheckLog,
  names: SmokeNames,
  layout: HomeLayout,
  tenant: CreatedTenant,
): Promise<void> {
  const marker = `Tessera upgrade smoke test ${names.runId}`;
  const route = `/t/${tenant.domain}/${names.app}/`;
  await log.check(`deploy and serve ${route}`, async () => {
    const building = path.join(
      tenantFolder(layout, tenant.id),
      `.${names.app}-${randomBytes(4).toString('hex')}`,
    );
    await mkdir(building, { recursive: true });
    await writeFile(
      path.join(building, 'index.html'),
      `<!doctype html><title>${marker}</title><p>${marker}</p>\n`,
    );
    await rename(building, path.join(webappsFolder(layout, tenant.id), names.app));
    const deadline = Date.now() + APP_WAIT_MS;
    for (;;) {
      const reply = await anonymous.call('GET', route);
      if (reply.status === 200 && reply.text.includes(marker)) return;
      if (Date.now() > deadline) {
        throw new TesseraError(
          'SMOKE_FAILED',
          `Smoke test: ${route} was not served within ${APP_WAIT_MS / 1000} s (last answer ${reply.status}).`,
          {
            hint: 'Hot deployment does not work in the new home: see its logs/tessera.log; production is untouched.',
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, APP_POLL_MS));
    }
  });
}

/** How one existing user's login went (the password is never kept). */
export interface LoginResult {
  username: string;
  ok: boolean;
  ms: number;
}

/** Logs in as each existing user the operator named, in order; each result says whether it worked. */
export async function checkExistingLogins(
  anonymous: ApiClient,
  log: CheckLog,
  logins: readonly { username: string; password: string }[],
): Promise<LoginResult[]> {
  const results: LoginResult[] = [];
  for (const login of logins) {
    const started = performance.now();
    const reply = await anonymous.call('POST', '/api/v1/authenticate', {
      username: login.username,
      password: login.password,
    });
    const ok = reply.status === 200;
    log.record(
      `log in as existing user ${login.username}`,
      ok,
      started,
      ok ? undefined : `answered ${reply.status}`,
    );
    results.push({ username: login.username, ok, ms: Math.round(performance.now() - started) });
  }
  return results;
}

/** Removes the smoke stores and tenants through the API (the server moves tenant folders to backups/). */
export async function removeThroughApi(
  api: ApiClient,
  log: CheckLog,
  created: CreatedTenant[],
): Promise<void> {
  for (const tenant of created) {
    const base = `/api/v1/tenants/${encodeURIComponent(tenant.domain)}`;
    if (tenant.storeCreated) {
      await log.check(`remove store ${tenant.store} of ${tenant.domain}`, () =>
        api.expect(204, 'DELETE', `${base}/userstores/${tenant.store}`),
      );
    }
    await log.check(`remove tenant ${tenant.domain}`, () => api.expect(204, 'DELETE', base));
  }
}
