import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Schema } from '../db/schema.js';
import type { TenantSettings } from '../tenants/settings.js';
import { deleteAuditBatch } from './audit-log.js';
import type { AuditRetention } from './audit-retention.js';
import { DEFAULT_LOCKOUT, LOCKOUT_SETTING } from './lockout-policy.js';
import type { LoginFailures } from './login-failures.js';

/** Rows one statement deletes at most: short transactions, short locks, on every engine. */
const BATCH_ROWS = 1000;
/** Batches one run deletes at most per scope: a backlog is worked off over several runs, not in one. */
const MAX_BATCHES_PER_RUN = 50;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How often a node runs the job; each run is spread by up to a tenth of it, so nodes rarely meet. */
export const HOUSEKEEPING_INTERVAL_MS = 10 * 60 * 1000;

/** What one run deleted. */
export interface HousekeepingRun {
  auditEntries: number;
  loginFailures: number;
  appSessions: number;
}

export interface HousekeepingOptions {
  db: Kysely<Schema>;
  settings: TenantSettings;
  retention: AuditRetention;
  failures: LoginFailures;
  /** The apps' sign-in sessions: those that ended are deleted (README, Signing in to apps). */
  appSessions?: { pruneEnded(now: number, limit: number): Promise<number> };
  logger: Logger;
  /** Counts deleted rows by table (`tessera_housekeeping_deleted_rows_total`). */
  deleted: (table: 'audit_log' | 'login_failures' | 'app_sessions', rows: number) => void;
  intervalMs?: number;
  /** While true (maintenance mode, which holds the database still for an upgrade's copy), runs delete nothing. */
  held?: () => boolean;
}

/**
 * The identity tables' periodic cleaning (README, Audit trail and Login lockout): audit entries older than
 * their tenant's retention, `login_failures` rows that count nothing any more, and app sessions that ended. Every node of a cluster
 * runs it: each delete names its rows and repeats its condition, so two nodes at once delete each row once
 * between them and nothing else; the work is bounded in batches, and each run that deleted logs a line.
 */
export class IdentityHousekeeping {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<HousekeepingRun> | undefined;

  constructor(private readonly options: HousekeepingOptions) {}

  start(): void {
    const interval = this.options.intervalMs ?? HOUSEKEEPING_INTERVAL_MS;
    const schedule = () => {
      this.timer = setTimeout(
        () => {
          this.runOnce()
            .catch((error: unknown) =>
              this.options.logger.warn({ err: error }, 'identity housekeeping failed'),
            )
            .finally(() => {
              if (this.timer) schedule();
            });
        },
        interval + Math.random() * interval * 0.1,
      );
      this.timer.unref();
    };
    schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One run now (a run already under way on this node is joined, not doubled). */
  runOnce(now = Date.now()): Promise<HousekeepingRun> {
    this.running ??= this.run(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(now: number): Promise<HousekeepingRun> {
    const { db, retention, failures, appSessions: sessions, logger, deleted, held } = this.options;
    if (held?.()) return { auditEntries: 0, loginFailures: 0, appSessions: 0 };
    let auditEntries = 0;
    for (const scope of await retention.scopes()) {
      const before = now - scope.days * DAY_MS;
      auditEntries += await batched(() => deleteAuditBatch(db, scope, before, BATCH_ROWS));
    }
    const quietBefore = now - (await this.longestWindowMs());
    const loginFailures = await batched(() => failures.pruneQuiet(quietBefore, BATCH_ROWS));
    const appSessions = sessions ? await batched(() => sessions.pruneEnded(now, BATCH_ROWS)) : 0;
    if (auditEntries > 0) deleted('audit_log', auditEntries);
    if (loginFailures > 0) deleted('login_failures', loginFailures);
    if (appSessions > 0) deleted('app_sessions', appSessions);
    if (auditEntries + loginFailures + appSessions > 0)
      logger.info({ auditEntries, loginFailures, appSessions }, 'identity housekeeping deleted old rows');
    return { auditEntries, loginFailures, appSessions };
  }

  /** The longest lockout window any tenant's rule has: a row quiet that long counts nothing anywhere. */
  private async longestWindowMs(): Promise<number> {
    let seconds = Math.max(DEFAULT_LOCKOUT.account.windowSeconds, DEFAULT_LOCKOUT.address.windowSeconds);
    for (const value of (await this.options.settings.readAll(LOCKOUT_SETTING)).values()) {
      for (const rule of [field(value, 'account'), field(value, 'address')]) {
        const window = field(rule, 'windowSeconds');
        if (typeof window === 'number' && Number.isFinite(window)) seconds = Math.max(seconds, window);
      }
    }
    return seconds * 1000;
  }
}

/** Runs `batch` until it deletes less than a full batch, or the run's bound is reached; the rows deleted. */
async function batched(batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_BATCHES_PER_RUN; i++) {
    const rows = await batch();
    total += rows;
    if (rows < BATCH_ROWS) break;
  }
  return total;
}

/** A member of a stored JSON value, whatever its shape (a hand-edited value must not stop the run). */
function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}
