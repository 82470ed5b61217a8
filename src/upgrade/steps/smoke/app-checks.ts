import type { ApiClient } from './client.js';
import {
  type ListedApp,
  type ListedTenant,
  listActiveTenants,
  listTenantApps,
  type RefusedEntry,
  type TenantApps,
} from './deployed-apps.js';

/** How one deployed app fared on the new release. */
export interface AppCheck {
  tenant: string;
  /** The tenant's id: where its folder is in the new home. */
  tenantId: number;
  name: string;
  /** `static` or `node`; absent for an entry the new release refused to deploy. */
  runtime?: string;
  /**
   * The runtime's state for a node app (`running`, `error`, or `starting`/`restarting` still at the bound,
   * `not started` when no process was ever reported), `deployed` for a static app, `refused` for an entry
   * the new release would not deploy.
   */
  state: string;
  /** The path asked, from the server root: the health path, or the mount. */
  path?: string;
  httpStatus?: number;
  /** How long the HTTP call took. */
  ms?: number;
  /** How long the smoke test waited for the node app to settle (0: it had settled already). */
  waitedMs?: number;
  ok: boolean;
  /** Why it failed (or a note on a pass): the first lines of the app's error or of the answer. */
  errorLines?: string[];
}

export interface AppsChecked {
  checked: AppCheck[];
  /** Tenants left out because they are inactive: their apps are not deployed on any node. */
  inactiveTenants: string[];
  ms: number;
}

/** The fewest milliseconds past an app's start timeout the check waits for, for the kill to show as `error`. */
const SETTLE_GRACE_MS = 2_000;
const POLL_MS = 100;
const DEFAULT_START_TIMEOUT_S = 60;
const ERROR_LINES = 5;
const LINE_CHARS = 300;
/** A 401 of a `login` app is Tessera's sign-in, not the app: the smoke test has no account in that tenant. */
const SIGN_IN_REQUIRED = 401;

/**
 * Every app the new release deployed in every active tenant (the super tenant's too; not the smoke
 * test's own tenants): node apps waited for until they settle, each within its start timeout, then each
 * app asked over HTTP as a client would ask it. Listed through the admin API, never by reading folders,
 * so that the check holds wherever the release keeps its apps.
 */
export async function checkDeployedApps(
  admin: ApiClient,
  anonymous: ApiClient,
  smokeTenants: ReadonlySet<string>,
): Promise<AppsChecked> {
  const started = performance.now();
  const { active, inactive } = await listActiveTenants(admin, smokeTenants);
  const checked: AppCheck[] = [];
  for (const tenant of active) {
    const { listing, waited } = await settledListing(admin, tenant.domain, started);
    for (const entry of listing.refused) checked.push(refusedCheck(tenant, entry));
    for (const app of listing.webapps) {
      checked.push(await askApp(anonymous, tenant, app, waited.get(app.name) ?? 0));
    }
  }
  return { checked, inactiveTenants: inactive, ms: Math.round(performance.now() - started) };
}

/** A node app that has not settled: its process is starting, restarting after a crash, or not started yet. */
function unsettled(app: ListedApp): boolean {
  return (
    app.runtime === 'node' && app.state !== 'running' && app.state !== 'error' && app.state !== 'stopped'
  );
}

/**
 * The tenant's listing once each node app is `running` or `error`, or past its own bound: its start
 * timeout counted from when the app checks began (the server had started it before), plus a grace for
 * the kill to show. Also how long each app was waited for.
 */
async function settledListing(
  admin: ApiClient,
  domain: string,
  started: number,
): Promise<{ listing: TenantApps; waited: Map<string, number> }> {
  const waited = new Map<string, number>();
  const pollStarted = performance.now();
  for (;;) {
    const listing = await listTenantApps(admin, domain);
    const now = performance.now();
    const waiting = listing.webapps.filter(
      (app) =>
        unsettled(app) &&
        now < started + (app.startTimeoutS ?? DEFAULT_START_TIMEOUT_S) * 1000 + SETTLE_GRACE_MS,
    );
    for (const app of listing.webapps) {
      if (!waiting.includes(app) && !waited.has(app.name)) {
        waited.set(app.name, Math.round(now - pollStarted));
      }
    }
    if (waiting.length === 0) return { listing, waited };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function refusedCheck(tenant: ListedTenant, entry: RefusedEntry): AppCheck {
  return {
    tenant: tenant.domain,
    tenantId: tenant.id,
    name: entry.name,
    state: 'refused',
    ok: false,
    errorLines: firstLines(`${entry.error}: ${entry.message}`),
  };
}

/**
 * A settled node app is asked for its health path (2xx wanted) or, without one, its mount; a static app
 * its mount. At the mount any answer but a 5xx will do: a 404 or a 401 is the app (or Tessera's sign-in)
 * answering, a 5xx is the app or its front failing.
 */
async function askApp(
  anonymous: ApiClient,
  tenant: ListedTenant,
  app: ListedApp,
  waitedMs: number,
): Promise<AppCheck> {
  const base: AppCheck = {
    tenant: tenant.domain,
    tenantId: tenant.id,
    name: app.name,
    runtime: app.runtime,
    state: app.runtime === 'node' ? (app.state ?? 'not started') : 'deployed',
    ok: false,
  };
  if (app.runtime === 'node') {
    base.waitedMs = waitedMs;
    if (app.state !== 'running') {
      const why = app.reason ?? `still ${base.state} after its start timeout (start_timeout_s)`;
      return { ...base, errorLines: firstLines(why) };
    }
  }
  const health = app.runtime === 'node' ? app.health : undefined;
  const path = health === undefined ? app.url : `${app.url}${health.slice(1)}`;
  const started = performance.now();
  let status: number;
  let text: string;
  try {
    ({ status, text } = await anonymous.call('GET', path));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, path, errorLines: firstLines(`GET ${path} failed: ${message}`) };
  }
  const ms = Math.round(performance.now() - started);
  const answered = { ...base, path, httpStatus: status, ms };
  if (health !== undefined && app.login && status === SIGN_IN_REQUIRED) {
    // The runtime asked the health path itself before it called the app running.
    return {
      ...answered,
      ok: true,
      errorLines: ['login = true: Tessera asked for a sign-in, the app was not reached'],
    };
  }
  const ok = health === undefined ? status < 500 : status >= 200 && status < 300;
  if (ok) return { ...answered, ok };
  return { ...answered, ok, errorLines: firstLines(`GET ${path} answered ${status}: ${text}`) };
}

/** Stack frames of Tessera's app host or of Node itself: the app's author can do nothing with them. */
const NOT_THE_APPS_FRAME = /^\s*at\s.*(\/app-host\/|\(node:|\snode:)/;

function firstLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '' && !NOT_THE_APPS_FRAME.test(line))
    .slice(0, ERROR_LINES)
    .map((line) => (line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS)}...` : line));
}

/** One line per app for the step's summary and the report: tenant/name (runtime): state, answer, time. */
export function describeAppCheck(check: AppCheck): string {
  const runtime = check.runtime === undefined ? '' : ` (${check.runtime})`;
  const answer =
    check.httpStatus === undefined ? '' : `, GET ${check.path} ${check.httpStatus} in ${check.ms} ms`;
  const waited = check.waitedMs ? `, settled after ${check.waitedMs} ms` : '';
  return `${check.tenant}/${check.name}${runtime}: ${check.state}${answer}${waited}`;
}
