import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redactDatabaseUrl } from '../db/url.js';
import { TesseraError } from '../errors.js';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../home/private-modes.js';
import { STEP_NAMES, type StepDetails, type StepName, type UpgradePlan } from './types.js';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed';

export interface StepRecord {
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** How many times the step was started (more than one after a resume). */
  attempts: number;
  details?: StepDetails;
  error?: { code: string; message: string };
}

export interface JournalEvent {
  at: string;
  step: StepName;
  message: string;
}

export interface JournalData {
  format: 1;
  id: string;
  createdAt: string;
  updatedAt: string;
  status: 'running' | 'failed' | 'completed';
  /**
   * The command's options. On disk (and in every report) each database URL is kept without its password:
   * a resumed run takes the staging URL from `--staging-db` again and production's from the old home.
   */
  command: { fromHome: string; home: string; stagingUrl: string; to?: string };
  plan: UpgradePlan;
  steps: Record<StepName, StepRecord>;
  events: JournalEvent[];
  outage?: { startedAt: string; endedAt: string; durationMs: number };
}

export const JOURNAL_FOLDER = 'upgrade';
export const JOURNAL_FILE = 'journal.json';

/**
 * The journal as it may leave memory: every string with database passwords masked, wherever a step put
 * one (the command, the plan, the plan step's facts, error messages, events).
 */
export function redactJournal<T extends Pick<JournalData, 'command' | 'plan'>>(data: T): T {
  return JSON.parse(serializeRedacted(data)) as T;
}

function serializeRedacted(data: object): string {
  return JSON.stringify(
    data,
    (_key, value: unknown) => (typeof value === 'string' ? redactDatabaseUrl(value) : value),
    2,
  );
}

export function journalPath(newHome: string): string {
  return path.join(path.resolve(newHome), JOURNAL_FOLDER, JOURNAL_FILE);
}

/**
 * The upgrade's record: every step's start, end, duration and facts, written to the new home after every
 * change (temp file + rename, so a kill leaves the previous version whole). A dry run keeps it in memory.
 */
export class Journal {
  private constructor(
    readonly data: JournalData,
    private file: string | undefined,
  ) {}

  /** Starts writing an in-memory journal to `file` (once the preflight allowed the run). */
  attach(file: string): void {
    this.file = file;
    this.save();
  }

  static create(
    file: string | undefined,
    command: JournalData['command'],
    plan: UpgradePlan,
    now = new Date(),
  ): Journal {
    const steps = Object.fromEntries(
      STEP_NAMES.map((name) => [name, { status: 'pending', attempts: 0 }]),
    ) as Record<StepName, StepRecord>;
    const journal = new Journal(
      {
        format: 1,
        id: randomUUID(),
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        status: 'running',
        command,
        plan,
        steps,
        events: [],
      },
      file,
    );
    journal.save();
    return journal;
  }

  static load(file: string): Journal {
    if (!existsSync(file)) {
      throw new TesseraError('NOT_FOUND', `No upgrade journal at ${file}.`, {
        hint: 'Pass the --home of an upgrade that was started.',
      });
    }
    let data: JournalData;
    try {
      data = JSON.parse(readFileSync(file, 'utf8')) as JournalData;
    } catch (error) {
      throw new TesseraError(
        'CONFIG_INVALID',
        `The upgrade journal ${file} cannot be read: ${(error as Error).message}`,
      );
    }
    if (data.format !== 1)
      throw new TesseraError('CONFIG_INVALID', `Unknown upgrade journal format in ${file}.`);
    return new Journal(data, file);
  }

  get path(): string | undefined {
    return this.file;
  }

  step(name: StepName): StepRecord {
    return this.data.steps[name];
  }

  /** The first step that has not finished, or undefined when all have. */
  nextStep(): StepName | undefined {
    return STEP_NAMES.find((name) => this.data.steps[name].status !== 'done');
  }

  startStep(name: StepName, now = new Date()): void {
    const record = this.data.steps[name];
    record.status = 'running';
    record.startedAt = now.toISOString();
    record.attempts += 1;
    delete record.error;
    this.event(name, record.attempts > 1 ? `resumed (attempt ${record.attempts})` : 'started', now);
  }

  /** Saves partial facts of a running step, so that a resumed attempt can continue from them. */
  checkpoint(name: StepName, details: StepDetails): void {
    this.data.steps[name].details = { ...this.data.steps[name].details, ...details };
    this.save();
  }

  finishStep(name: StepName, details: StepDetails, now = new Date()): void {
    const record = this.data.steps[name];
    record.status = 'done';
    record.endedAt = now.toISOString();
    record.durationMs = now.getTime() - Date.parse(record.startedAt ?? now.toISOString());
    record.details = { ...record.details, ...details };
    this.event(name, `done in ${record.durationMs} ms`, now);
  }

  failStep(name: StepName, error: { code: string; message: string }, now = new Date()): void {
    const record = this.data.steps[name];
    record.status = 'failed';
    record.endedAt = now.toISOString();
    record.durationMs = now.getTime() - Date.parse(record.startedAt ?? now.toISOString());
    record.error = error;
    this.data.status = 'failed';
    this.event(name, `failed: ${error.message}`, now);
  }

  setOutage(startedAt: number, endedAt: number): void {
    this.data.outage = {
      startedAt: new Date(startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      durationMs: endedAt - startedAt,
    };
    this.save();
  }

  complete(now = new Date()): void {
    this.data.status = 'completed';
    this.data.updatedAt = now.toISOString();
    this.save();
  }

  markRunning(): void {
    this.data.status = 'running';
    this.save();
  }

  event(step: StepName, message: string, now = new Date()): void {
    this.data.events.push({ at: now.toISOString(), step, message });
    this.save();
  }

  save(): void {
    this.data.updatedAt = new Date().toISOString();
    if (!this.file) return;
    mkdirSync(path.dirname(this.file), { recursive: true, mode: PRIVATE_FOLDER_MODE });
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, `${serializeRedacted(this.data)}\n`, { mode: PRIVATE_FILE_MODE });
    // A temp file left by a killed run keeps its old mode (writeFileSync's mode applies to new files only).
    chmodSync(temp, PRIVATE_FILE_MODE);
    renameSync(temp, this.file);
  }
}
