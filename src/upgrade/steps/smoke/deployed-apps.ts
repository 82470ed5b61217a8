import { TesseraError } from '../../../errors.js';
import type { ApiClient } from './client.js';

/** A tenant whose apps the smoke test checks, as `GET /api/v1/tenants` lists it. */
export interface ListedTenant {
  id: number;
  domain: string;
}

/** One deployed app as the new release's `GET /api/v1/tenants/{domain}/webapps` describes it. */
export interface ListedApp {
  name: string;
  runtime: string;
  /** Where it is served, from the server root, ending in `/`. */
  url: string;
  login: boolean;
  health?: string;
  /** `[limits] start_timeout_s` (node apps). */
  startTimeoutS?: number;
  /** The process's state (node apps), absent until the runtime has started one. */
  state?: string;
  reason?: string;
}

/** A `webapps/` entry the new release would not deploy, and why. */
export interface RefusedEntry {
  name: string;
  error: string;
  message: string;
}

export interface TenantApps {
  webapps: ListedApp[];
  refused: RefusedEntry[];
}

/**
 * The active tenants, the super tenant among them, minus `skipped` (the smoke test's own). An inactive
 * tenant's apps are not deployed on any release, so there is nothing of them to start.
 */
export async function listActiveTenants(
  admin: ApiClient,
  skipped: ReadonlySet<string>,
): Promise<{ active: ListedTenant[]; inactive: string[] }> {
  const reply = await admin.expect(200, 'GET', '/api/v1/tenants');
  const tenants = arrayField(reply.body, 'tenants', '/api/v1/tenants').filter(
    (tenant) => !skipped.has(stringField(tenant, 'domain')),
  );
  return {
    active: tenants
      .filter((tenant) => tenant.active === true)
      .map((tenant) => ({ id: numberField(tenant, 'id'), domain: stringField(tenant, 'domain') })),
    inactive: tenants
      .filter((tenant) => tenant.active !== true)
      .map((tenant) => stringField(tenant, 'domain')),
  };
}

/** What the new release deployed for one tenant, and what it refused. */
export async function listTenantApps(admin: ApiClient, domain: string): Promise<TenantApps> {
  const route = `/api/v1/tenants/${encodeURIComponent(domain)}/webapps`;
  const reply = await admin.expect(200, 'GET', route);
  return {
    webapps: arrayField(reply.body, 'webapps', route).map(toListedApp),
    refused: arrayField(reply.body, 'refused', route).map((entry) => ({
      name: stringField(entry, 'name'),
      error: stringField(entry, 'error'),
      message: stringField(entry, 'message'),
    })),
  };
}

function toListedApp(app: Record<string, unknown>): ListedApp {
  const limits = app.limits as Record<string, unknown> | undefined;
  const status = app.status as Record<string, unknown> | undefined;
  return {
    name: stringField(app, 'name'),
    runtime: stringField(app, 'runtime'),
    url: stringField(app, 'url'),
    login: app.login === true,
    ...(typeof app.health === 'string' ? { health: app.health } : {}),
    ...(typeof limits?.startTimeoutS === 'number' ? { startTimeoutS: limits.startTimeoutS } : {}),
    ...(typeof status?.state === 'string' ? { state: status.state } : {}),
    ...(typeof status?.reason === 'string' ? { reason: status.reason } : {}),
  };
}

// The API is the new release's, started by this very upgrade: an answer of another shape is a bug there.
function arrayField(body: unknown, key: string, route: string): Record<string, unknown>[] {
  const value = (body as Record<string, unknown> | undefined)?.[key];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'object' && item !== null)) {
    throw new TesseraError('SMOKE_FAILED', `Smoke test: GET ${route} gave no ${key} list.`);
  }
  return value as Record<string, unknown>[];
}

function stringField(item: Record<string, unknown>, key: string): string {
  const value = item[key];
  if (typeof value !== 'string')
    throw new TesseraError('SMOKE_FAILED', `Smoke test: an API answer lacks ${key}.`);
  return value;
}

function numberField(item: Record<string, unknown>, key: string): number {
  const value = item[key];
  if (typeof value !== 'number')
    throw new TesseraError('SMOKE_FAILED', `Smoke test: an API answer lacks ${key}.`);
  return value;
}
