import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type DatabaseTarget, parseDatabaseUrl, sameDatabase } from '../db/url.js';
import { JOURNAL_FOLDER, Journal, type JournalData, journalPath, stepRecord } from './journal.js';
import { promoteStep } from './steps/promote/promote.js';

/**
 * Written into `<new home>/upgrade/` by the first node of the new release that serves on the upgraded
 * database after promote. Promote's own readiness probe stops its server again, so the outage only ends
 * when a real node serves; the file is created exclusively, so the first node's moment is the one kept.
 */
export const FIRST_SERVING_FILE = 'first-serving.json';

export interface FirstServing {
  /** The node's id, as in `cluster_nodes`. */
  nodeId: string;
  release: string;
  /** Epoch ms at which the node listened, registered in `cluster_nodes` and so served on the database. */
  servingAt: number;
}

/** The outage as the report shows it: open until a node of the new release has served, then ended. */
export interface OutageView {
  startedAt: string;
  /** Where the outage is known to run until: the first node serving, or (open) promote's readiness probe. */
  endedAt: string;
  durationMs: number;
  /** True while no node of the new release has served on the upgraded database since promote. */
  open: boolean;
  /** What ends it: the first node serving, or while open a note saying so. */
  endedBy: string;
  /** The figure promote measured with its own readiness probe (the outage so far at that moment). */
  measuredAtPromote: { endedAt: string; durationMs: number };
  firstServing?: FirstServing;
}

export type JournalWithOutage = Omit<JournalData, 'outage'> & { outage?: OutageView };

export const OPEN_OUTAGE_NOTE = 'open: ends when the first node of the new release serves';

function firstServingPath(home: string): string {
  return path.join(path.resolve(home), JOURNAL_FOLDER, FIRST_SERVING_FILE);
}

/**
 * Called by a node once it serves: records it as the end of the outage when the home was made by an
 * upgrade whose promote is done, the node runs on the upgraded database, and no node did so before.
 * Never throws: a node serves whether or not the record could be written.
 */
export function recordFirstServing(
  home: string,
  database: DatabaseTarget,
  node: FirstServing,
): FirstServing | undefined {
  try {
    const file = firstServingPath(home);
    if (existsSync(file) || !existsSync(journalPath(home))) return undefined;
    const data = Journal.load(journalPath(home)).data;
    // The smoke test and promote's probe also start the new release here: they do not end the outage.
    if (stepRecord(data, promoteStep).status !== 'done') return undefined;
    if (!sameDatabase(parseDatabaseUrl(data.plan.stagingUrl, path.resolve(home)), database)) return undefined;
    writeFileSync(file, `${JSON.stringify(node, null, 2)}\n`, { flag: 'wx' });
    return node;
  } catch {
    // Another node created the file first (EEXIST), or the journal cannot be read: nothing to record.
    return undefined;
  }
}

export function readFirstServing(home: string): FirstServing | undefined {
  const file = firstServingPath(home);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as FirstServing;
    return typeof parsed.servingAt === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The journal with its outage ended by the first node serving, or marked open while none has. */
export function withServedOutage(
  data: JournalData,
  firstServing: FirstServing | undefined,
): JournalWithOutage {
  const measured = data.outage;
  if (!measured) return { ...data, outage: undefined };
  const started = Date.parse(measured.startedAt);
  const measuredAtPromote = { endedAt: measured.endedAt, durationMs: measured.durationMs };
  if (firstServing === undefined) {
    return {
      ...data,
      outage: { ...measured, open: true, endedBy: OPEN_OUTAGE_NOTE, measuredAtPromote },
    };
  }
  return {
    ...data,
    outage: {
      startedAt: measured.startedAt,
      endedAt: new Date(firstServing.servingAt).toISOString(),
      durationMs: firstServing.servingAt - started,
      open: false,
      endedBy: `node ${firstServing.nodeId} (${firstServing.release}) serving`,
      measuredAtPromote,
      firstServing,
    },
  };
}

/** The journal of the upgrade into `home` as the report shows it (CLI and API alike). */
export function loadReportJournal(home: string): JournalWithOutage {
  return withServedOutage(Journal.load(journalPath(home)).data, readFirstServing(home));
}
