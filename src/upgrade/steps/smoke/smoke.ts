import type { Kysely } from 'kysely';
import type { Schema } from '../../../db/schema.js';
import { isTesseraError, TesseraError } from '../../../errors.js';
import { readTenantIdMark, restoreTenantIdMark } from '../../../tenants/id-mark.js';
import { crashPoint } from '../../crash.js';
import { recordCarriedApps } from '../../home/app-versions.js';
import { assertNewHomeOnStaging } from '../../home/new-config.js';
import { databasesOfOldHome, sharedStoreDatabases } from '../../home/old-home-databases.js';
import type { UpgradeServer } from '../../server-process/protocol.js';
import { spawnServerProcess } from '../../server-process/spawn.js';
import type { Step, UpgradeContext } from '../../types.js';
import { insertSmokeAdmin, removeSmokeAdmin } from './admin.js';
import { type AppsChecked, checkDeployedApps, describeAppCheck } from './app-checks.js';
import { ALLOW_APP_FAILURES_FLAG, appFailure, appWarnings } from './app-failures.js';
import { CheckLog, type CheckRecord } from './check-log.js';
import {
  authenticateSmokeAccounts,
  type CreatedTenant,
  checkExistingLogins,
  createStoresAndUsers,
  createTenants,
  deployProbeApp,
  type LoginResult,
  randomPassword,
  removeThroughApi,
} from './checks.js';
import { ApiClient } from './client.js';
import {
  describeLeftovers,
  findSmokeLeftovers,
  removeSmokeLeftovers,
  removeSmokeLogins,
  type SmokeLeftovers,
} from './leftovers.js';
import { type SmokeNames, smokeNames } from './names.js';
import { countDifferences, countRows, type RowCounts } from './row-counts.js';

/** What the smoke test removed: from an interrupted attempt, or after its own checks. */
interface RemovalRecord {
  tenants: string[];
  adminUsers: number;
  auditRows: number;
  folders: string[];
}

/** What the smoke test records; its first three facts are written before it changes anything. */
export interface SmokeDetails {
  runId: string;
  /** Every table's rows before the checks: the cleanup must bring them back to these. */
  rowCountsBefore: RowCounts;
  /** The tenant id mark before the smoke tenants moved it on; null when there was none. */
  tenantIdMarkBefore: number | null;
  /** When the first attempt began (epoch ms): the logins' audit rows and counts since then are the smoke's. */
  loginsSince?: number;
  checks: CheckRecord[];
  created: { tenant: string; id: number; store: string; storeUrl: string; accounts: string[] }[];
  checkLogins: LoginResult[];
  /**
   * Every app deployed on the new release, checked; absent when an earlier check failed first.
   * `failuresAllowed`: the run had --allow-app-failures, so failing apps were warnings, not a stop.
   */
  apps?: AppsChecked & { failuresAllowed: boolean };
  removedAfterEarlierAttempt: RemovalRecord;
  removedByCleanup: RemovalRecord;
  verified: { rowCounts: RowCounts; leftovers: string[] };
  durationMs: number;
  childPeakRssMb?: number;
}

/**
 * Upgrade step 8 (docs/architecture.md, The upgrade): the new release started on the new home (which points at staging) and put through
 * the production-readiness checks over its REST API, then everything the checks made removed again and
 * the removal verified, down to the row count of every table.
 */
export const smokeStep: Step<'smoke', SmokeDetails> = {
  name: 'smoke',
  title: 'Smoke test the new release on the upgraded database',

  async describe(context) {
    const names = smokeNames(context.journal.data.id, context.newLayout);
    const logins = context.options.checkLogins.map((l) => l.username);
    const shared = await sharedStoreDatabases(context);
    return [
      `start Tessera ${context.plan.targetRelease} on ${context.newLayout.root} (port chosen by the system), on the upgraded database`,
      ...shared.map(
        (database) =>
          `open store database ${database.label} read-only (the old home still uses it; used by ${database.usedBy.join(', ')}): its stores refuse writes and re-hash no legacy password`,
      ),
      `add a temporary super tenant admin ${names.admin} to the upgraded database`,
      ...names.tenants.map(
        (t) =>
          `create tenant ${t.domain} with store ${t.store} (${t.storeUrl}), a user in PRIMARY and in ${t.store}; log in as each`,
      ),
      `deploy webapp ${names.app} in ${names.tenants[0]?.domain} and wait until it is served`,
      logins.length > 0
        ? `log in as existing users: ${logins.join(', ')}`
        : 'no existing users to log in as (pass --check-login user:password)',
      `check every app deployed in an active tenant (the super tenant's too): wait for each node app to settle (within its start_timeout_s), then ask its health path (2xx), or a static app's mount (anything but 5xx); ${
        context.options.allowAppFailures
          ? `an app that does not start is a warning (${ALLOW_APP_FAILURES_FLAG})`
          : `an app that does not start stops the upgrade before promote (unless ${ALLOW_APP_FAILURES_FLAG})`
      }`,
      'remove everything created, stop the server, and verify that every table has its row count from before',
    ];
  },

  async run(context, previous) {
    const started = performance.now();
    const staging = await context.staging();
    const db = staging.db as unknown as Kysely<Schema>;
    const names = smokeNames(context.journal.data.id, context.newLayout);
    await assertNewHomeOnStaging(context, staging);

    // What an interrupted attempt left goes first, so that this attempt starts from production's data.
    const earlierMark = markFrom(previous);
    // The first attempt's start covers every later attempt's logins too.
    const loginsSince = loginsSinceFrom(previous) ?? Date.now();
    const earlier = await removeEverything(db, context, names, earlierMark, loginsSince);
    // The new home's apps as they are now: an app the operator fixed there after a failed attempt is a new
    // version, recorded here rather than by the server's start, and counted in the app tables' rows below.
    await recordCarriedApps(context);
    const before = withAppTables(countsFrom(previous), await countRows(staging));
    // The smoke tenants move the tenant id mark on; it is put back with everything else they made.
    const markBefore = earlierMark === undefined ? await readTenantIdMark(db) : earlierMark.mark;
    context.journal.markForResume(smokeStep, {
      runId: names.runId,
      rowCountsBefore: before,
      tenantIdMarkBefore: markBefore ?? null,
      loginsSince,
    });

    const log = new CheckLog();
    const created: CreatedTenant[] = [];
    const adminPassword = randomPassword();
    await log.check(`add temporary admin ${names.admin}`, () =>
      insertSmokeAdmin(db, names.admin, adminPassword),
    );
    const outcome = await exerciseNewRelease(context, names, adminPassword, log, created);
    const { logins } = outcome;
    let { failure } = outcome;
    const allowAppFailures = context.options.allowAppFailures === true;
    const apps = outcome.apps && { ...outcome.apps, failuresAllowed: allowAppFailures };
    const failedApps = apps?.checked.filter((check) => !check.ok) ?? [];

    const removed = await removeEverything(db, context, names, { mark: markBefore }, loginsSince);
    const after = await countRows(staging);
    const leftovers = describeLeftovers(await findSmokeLeftovers(db, context.newLayout, names));
    const problems = [...countDifferences(before, after).map((d) => `row count ${d}`), ...leftovers];
    const details: SmokeDetails = {
      runId: names.runId,
      rowCountsBefore: before,
      checks: log.records,
      created: created.map((t) => ({
        tenant: t.domain,
        id: t.id,
        store: t.store,
        storeUrl: t.storeUrl,
        accounts: t.accounts,
      })),
      checkLogins: logins,
      // Written even when undefined: it replaces (and so drops) what an earlier attempt recorded.
      apps,
      removedAfterEarlierAttempt: summarizeRemoval(earlier),
      removedByCleanup: summarizeRemoval(removed),
      tenantIdMarkBefore: markBefore ?? null,
      loginsSince,
      verified: { rowCounts: after, leftovers: problems },
      durationMs: Math.round(performance.now() - started),
      // The server ran in a process of its own: its peak beside the upgrade process's own `peakRssMb`.
      ...(outcome.childPeakRssMb !== undefined ? { childPeakRssMb: outcome.childPeakRssMb } : {}),
    };
    context.journal.markForResume(smokeStep, details);
    printSummary(context, log, apps, problems);

    const refused = logins.filter((login) => !login.ok).map((login) => login.username);
    if (failure === undefined && refused.length > 0) failure = loginFailure(refused);
    if (failure === undefined && failedApps.length > 0) {
      if (!allowAppFailures) failure = appFailure(failedApps, context.plan.targetRelease, context.newLayout);
      else for (const warning of appWarnings(failedApps)) context.journal.event(smokeStep, warning);
    }
    if (failure !== undefined) throw withCleanupNote(failure, problems);
    if (problems.length > 0) {
      throw new TesseraError(
        'SMOKE_FAILED',
        `The smoke test could not remove everything it created: ${problems.join('; ')}.`,
        {
          hint: 'Remove these from the staging database and the new home, then resume the upgrade; production is untouched.',
        },
      );
    }
    return details;
  },
};

interface Exercise {
  /** The first check that failed (the rest were skipped), if one did. */
  failure: unknown;
  logins: LoginResult[];
  /** The deployed apps checked, when the checks got that far. */
  apps: AppsChecked | undefined;
  /** The peak memory of the server's own process, when it told. */
  childPeakRssMb: number | undefined;
}

/**
 * Starts the new release on the new home, runs the checks through its API, removes what they created
 * through the API too, and always stops the server.
 */
async function exerciseNewRelease(
  context: UpgradeContext,
  names: SmokeNames,
  adminPassword: string,
  log: CheckLog,
  created: CreatedTenant[],
): Promise<Exercise> {
  let failure: unknown;
  let logins: LoginResult[] = [];
  let apps: AppsChecked | undefined;
  let childPeakRssMb: number | undefined;
  let server: UpgradeServer | undefined;
  try {
    const oldHomeDatabases = await databasesOfOldHome(context);
    const startServer = context.startServer ?? spawnServerProcess;
    server = await log.check('start the new release', () =>
      startServer({
        home: context.newLayout.root,
        // Production stays as it was until promote, and that includes the store databases the old home
        // shares with the new one: a --check-login of a store user with a legacy hash would otherwise
        // re-hash it there, and a store whose tables are missing would get them created.
        readOnlyStoreDatabases: oldHomeDatabases,
      }),
    );
    context.progress.line(
      `Smoke test: Tessera ${context.plan.targetRelease} answering at ${server.url} (process ${server.pid ?? 'unknown'})`,
    );
    crashPoint('smoke:serving');
    const admin = new ApiClient(server.url, { username: names.admin, password: adminPassword });
    const anonymous = new ApiClient(server.url, undefined);
    const passwords = { tenantAdmin: randomPassword(), user: randomPassword() };
    try {
      await createTenants(admin, log, names, context.newLayout, passwords, created);
      await createStoresAndUsers(admin, log, names, passwords, created);
      await authenticateSmokeAccounts(anonymous, log, names, passwords, created);
      if (created[0]) await deployProbeApp(anonymous, log, names, context.newLayout, created[0]);
      logins = await checkExistingLogins(anonymous, log, context.options.checkLogins);
      const smokeTenants = new Set(names.tenants.map((tenant) => tenant.domain));
      apps = await log.check('list the deployed apps and ask each', () =>
        checkDeployedApps(admin, anonymous, smokeTenants),
      );
    } catch (error) {
      failure = error;
    }
    // Through the API first, as an operator would; whatever that misses is removed directly afterwards.
    await removeThroughApi(admin, log, created).catch(() => {});
  } catch (error) {
    failure ??= error;
  } finally {
    const running = server;
    if (running) {
      const stopped = await log.check('stop the new release', () => running.close()).catch(() => undefined);
      childPeakRssMb = stopped?.peakRssMb;
    }
  }
  return { failure, logins, apps, childPeakRssMb };
}

interface Removal {
  leftovers: SmokeLeftovers;
  admins: number;
}

/** Removes every trace of this run's smoke test from staging and the new home (the server stopped). */
async function removeEverything(
  db: Kysely<Schema>,
  context: UpgradeContext,
  names: SmokeNames,
  idMark: { mark: number | undefined } | undefined,
  loginsSince: number,
): Promise<Removal> {
  const found = await removeSmokeLeftovers(db, context.newLayout, names);
  // Counted with the audit rows: a login's row is the audit trail's (2.1.0) as the smoke admin's are.
  const loginRows = await removeSmokeLogins(db, loginsSince);
  const leftovers = { ...found, auditRows: found.auditRows + loginRows };
  const admins = await removeSmokeAdmin(db, names.admin);
  if (idMark !== undefined) await restoreTenantIdMark(db, idMark.mark);
  return { leftovers, admins };
}

function summarizeRemoval({ leftovers, admins }: Removal): RemovalRecord {
  return {
    tenants: leftovers.tenants.map((t) => t.domain),
    adminUsers: admins,
    auditRows: leftovers.auditRows,
    folders: leftovers.folders,
  };
}

/**
 * The tenant id mark an earlier attempt found before its tenants moved it on (`mark` undefined: there was
 * none), if it got that far; undefined when nothing is known.
 */
function markFrom(previous: Partial<SmokeDetails> | undefined): { mark: number | undefined } | undefined {
  if (previous === undefined || !('tenantIdMarkBefore' in previous)) return undefined;
  const mark = previous.tenantIdMarkBefore;
  if (mark === null) return { mark: undefined };
  return typeof mark === 'number' ? { mark } : undefined;
}

/** When the earlier attempt began, if it recorded it. */
function loginsSinceFrom(previous: Partial<SmokeDetails> | undefined): number | undefined {
  return typeof previous?.loginsSince === 'number' ? previous.loginsSince : undefined;
}

/** The row counts an earlier attempt took before it changed anything, if it got that far. */
function countsFrom(previous: Partial<SmokeDetails> | undefined): RowCounts | undefined {
  const counts = previous?.rowCountsBefore;
  if (typeof counts !== 'object' || counts === null) return undefined;
  const entries = Object.entries(counts);
  return entries.every(([, n]) => typeof n === 'number')
    ? (Object.fromEntries(entries) as RowCounts)
    : undefined;
}

function loginFailure(usernames: string[]): TesseraError {
  return new TesseraError(
    'UNAUTHENTICATED',
    `Smoke test: ${usernames.length === 1 ? 'existing user' : 'existing users'} ${usernames.join(', ')} could not log in on the upgraded database.`,
    {
      hint: 'Check the --check-login passwords. If they are right, the upgraded data is wrong: do not promote; production is untouched, and --resume runs the smoke test again.',
    },
  );
}

function withCleanupNote(failure: unknown, problems: string[]): unknown {
  if (problems.length === 0) return failure;
  const note = ` The smoke test also left behind: ${problems.join('; ')}.`;
  if (isTesseraError(failure))
    return new TesseraError(failure.code, `${failure.message}${note}`, {
      hint: failure.hint,
      cause: failure,
    });
  return new TesseraError(
    'SMOKE_FAILED',
    `${failure instanceof Error ? failure.message : String(failure)}${note}`,
    { cause: failure },
  );
}

function printSummary(
  context: UpgradeContext,
  log: CheckLog,
  apps: SmokeDetails['apps'],
  problems: string[],
): void {
  for (const record of log.records) {
    context.progress.line(
      `  ${record.ok ? 'ok  ' : 'FAIL'} ${record.name} (${record.ms} ms)${record.ok || !record.detail ? '' : `: ${record.detail}`}`,
    );
  }
  for (const check of apps?.checked ?? []) {
    const mark = check.ok ? 'ok  ' : apps?.failuresAllowed ? 'warn' : 'FAIL';
    context.progress.line(`  ${mark} app ${describeAppCheck(check)}`);
    for (const line of check.errorLines ?? []) context.progress.line(`         ${line}`);
  }
  if (apps && apps.inactiveTenants.length > 0) {
    context.progress.line(
      `  apps of inactive tenants not checked (not deployed while inactive): ${apps.inactiveTenants.join(', ')}`,
    );
  }
  context.progress.line(
    problems.length === 0
      ? 'Smoke test: everything it created was removed; every table has its row count from before.'
      : `Smoke test: left behind ${problems.join('; ')}`,
  );
}

/** The app-version tables, whose rows `recordCarriedApps` may add between attempts. */
const APP_VERSION_TABLES = ['webapps', 'webapp_versions', 'webapp_version_chunks'];

/**
 * The counts the attempt compares with: the first attempt's (so a smoke tenant a crash left behind is found),
 * except for the app-version tables, counted now, after the home's apps were recorded.
 */
function withAppTables(first: RowCounts | undefined, now: RowCounts): RowCounts {
  if (!first) return now;
  const counts = { ...first };
  for (const table of APP_VERSION_TABLES) if (table in now) counts[table] = now[table] as number;
  return counts;
}
