import type { Kysely } from 'kysely';
import pino from 'pino';
import { openClusterCache } from '../../cache/cluster-cache.js';
import type { Database } from '../../db/connection.js';
import type { Schema } from '../../db/schema.js';
import { TesseraError } from '../../errors.js';
import { type AckReport, waitForAcks } from '../../maintenance/ack-report.js';
import type { MaintenanceState } from '../../maintenance/state.js';
import { readMaintenanceState, switchMaintenance } from '../../maintenance/state-row.js';
import type { OldConfig } from '../types.js';

/**
 * The online path's hold on production: the cluster-wide maintenance mode of src/maintenance/, written as
 * this release writes it. A 2.0.1 node reads the same row (the registry row `tessera:maintenance`, its
 * generation moved by compare-and-set, the same JSON content) and acknowledges in the same rows, since the
 * module has not changed since 2.0.1; the frozen 2.0.1 node is the test of that (test/upgrade/online-*).
 */

/** What refused writes answer while production is frozen for an upgrade. */
export function freezeMessage(journalId: string, from: string, to: string): string {
  return `Tessera is being upgraded (${from} -> ${to}, upgrade ${journalId}): changes are refused until it is done; reads and logins work.`;
}

/** Who switched, as `tessera maintenance status` shows it. */
export function freezeActor(journalId: string): string {
  return `tessera upgrade ${journalId}`;
}

/** Retry-After of refused writes: an upgrade takes minutes, so clients are told to come back in one. */
export const FREEZE_RETRY_AFTER_SECONDS = 60;

/**
 * Tells the old nodes to read the state now, over the old home's Redis (`cache.redis`), the channel they
 * listen on; without Redis they read it within one heartbeat period anyway.
 */
async function announce(
  oldConfig: OldConfig,
  production: Database<unknown>,
  generation: number,
): Promise<void> {
  const cache = oldConfig.document.cache as { redis?: unknown } | undefined;
  const redisUrl = typeof cache?.redis === 'string' ? cache.redis : undefined;
  if (redisUrl === undefined) return;
  const cluster = await openClusterCache({
    redisUrl,
    databaseLabel: production.label,
    logger: pino({ level: 'silent' }),
  });
  try {
    await cluster.bus.publish({ kind: 'maintenance', generation });
  } finally {
    await cluster.close();
  }
}

function db(production: Database<unknown>): Kysely<Schema> {
  // Production is at schema level 2.0.0 or later here: the registry and cluster tables are there.
  return production.db as Kysely<Schema>;
}

/** Switches production into maintenance and tells the nodes; the state written (its generation is ours). */
export async function switchOn(
  oldConfig: OldConfig,
  production: Database<unknown>,
  change: { message: string; by: string },
): Promise<MaintenanceState> {
  const state = await switchMaintenance(db(production), {
    on: true,
    message: change.message,
    retryAfterSeconds: FREEZE_RETRY_AFTER_SECONDS,
    by: change.by,
  });
  await announce(oldConfig, production, state.generation);
  return state;
}

/** Waits until every live node acknowledged `generation` (drained its writes), or `waitMs` passed. */
export function waitForFreeze(
  oldConfig: OldConfig,
  production: Database<unknown>,
  generation: number,
  waitMs: number,
): Promise<AckReport> {
  return waitForAcks(db(production), oldConfig.heartbeatSeconds * 1000, generation, waitMs);
}

export function readState(production: Database<unknown>): Promise<MaintenanceState> {
  return readMaintenanceState(db(production));
}

/** What releasing a freeze found. */
export type Release =
  | { released: true; generation: number }
  | { released: false; why: 'already-off' | 'switched-by-another'; state: MaintenanceState };

/**
 * Switches production out of maintenance, but only the freeze this upgrade made: if the mode is on at a
 * later generation, someone switched it since (an operator's own maintenance) and it is left to them.
 */
export async function releaseFreeze(
  oldConfig: OldConfig,
  production: Database<unknown>,
  generation: number,
  by: string,
): Promise<Release> {
  const state = await readState(production);
  if (!state.on) return { released: false, why: 'already-off', state };
  if (state.generation !== generation) return { released: false, why: 'switched-by-another', state };
  const off = await switchMaintenance(db(production), { on: false, by });
  await announce(oldConfig, production, off.generation);
  return { released: true, generation: off.generation };
}

/**
 * The copy in staging is production as frozen: it holds only while production stays in this upgrade's
 * maintenance. Someone who switched it off (or on again) since may have let writes in that staging does
 * not have, and promote would lose them: the upgrade stops, and only an abort and a new run are safe.
 */
export async function assertFreezeHolds(
  production: Database<unknown>,
  generation: number,
  newHome: string,
): Promise<void> {
  const state = await readState(production);
  if (state.on && state.generation === generation) return;
  throw new TesseraError(
    'PREFLIGHT_FAILED',
    `Production left this upgrade's freeze (maintenance generation ${generation}): it is now ${state.on ? 'on' : 'off'} at generation ${state.generation}, switched by ${state.by ?? 'unknown'}, so writes may have reached production that the staged copy does not hold.`,
    {
      hint: `End this upgrade with tessera upgrade --abort --home ${newHome}, then start a new one (a new --home and an empty staging database).`,
    },
  );
}
