import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redactDatabaseUrl } from '../db/url.js';
import { TesseraError } from '../errors.js';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../home/private-modes.js';
import type { UpgradePlan } from './upgrade-plan.js';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed';

/** Facts a step records in the journal: counts, checksums, paths, timings. JSON only. */
export type StepDetails = Record<string, unknown>;

/**
 * A step as the journal knows it: the name its record is kept under, and (through what its `run` returns)
 * the type of the details it records. The journal never runs it; the type is what lets every read of a
 * step's details be typed, and every read go through the step rather than a name written out.
 */
export interface JournaledStep<Details extends object = object> {
  readonly name: string;
  run(...args: never[]): Promise<Details>;
}

export interface StepRecord<Details extends object = StepDetails> {
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  /** How many times the step was started (more than one after a resume). */
  attempts: number;
  /** Whole once the step is done; as far as an interrupted attempt got before that. */
  details?: Partial<Details>;
  error?: { code: string; message: string };
}

export interface JournalEvent {
  at: string;
  step: string;
  message: string;
}

export interface JournalData {
  format: 1;
  id: string;
  createdAt: string;
  updatedAt: string;
  status: 'running' | 'failed' | 'completed' | 'aborted';
  /**
   * The command's options. On disk (and in every report) each database URL is kept without its password:
   * a resumed run takes the staging URL from `--staging-db` again and production's from the old home.
   */
  command: { fromHome: string; home: string; stagingUrl: string; to?: string };
  plan: UpgradePlan;
  /** By step name, in the order the steps run. */
  steps: Record<string, StepRecord>;
  events: JournalEvent[];
  outage?: { startedAt: string; endedAt: string; durationMs: number };
  /**
   * The online path's freeze of production (src/upgrade/steps/freeze/): the maintenance generation this
   * upgrade switched on, so that `--abort` (and a failed freeze) switches off only its own, and when the
   * write window started. `releasedAt` once production left maintenance again (never after promote: the
   * retired database stays frozen).
   */
  freeze?: FreezeRecord;
  /** When `tessera upgrade --abort` ended this upgrade. */
  abortedAt?: string;
}

export interface FreezeRecord {
  generation: number;
  /** Epoch ms of the switch: the write window starts here. */
  startedAt: number;
  /** Epoch ms at which every live node had acknowledged (drained its writes); absent until then. */
  ackedAt?: number;
  message: string;
  /** Epoch ms at which this upgrade switched production out of maintenance again. */
  releasedAt?: number;
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

/** `step`'s record in a journal's data (a journal read for a report, too), its details typed as `step` records them. */
export function stepRecord<Details extends object>(
  data: Pick<JournalData, 'steps'>,
  step: JournaledStep<Details>,
): StepRecord<Details> {
  const record = data.steps[step.name];
  if (record === undefined) throw new Error(`the upgrade journal has no step ${step.name}`);
  // Written by this step's own `run` (or by an earlier attempt of it), as JSON.
  return record as StepRecord<Details>;
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
    /** Every step of the run, in order. */
    stepNames: readonly string[],
    now = new Date(),
  ): Journal {
    const steps = Object.fromEntries(
      stepNames.map((name): [string, StepRecord] => [name, { status: 'pending', attempts: 0 }]),
    );
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

  /** The one way back to what a step recorded: typed by the step handed in, never read by a name. */
  step<Details extends object>(step: JournaledStep<Details>): StepRecord<Details> {
    return stepRecord(this.data, step);
  }

  /** The first of `steps` (in their order) that has not finished, or undefined when all have. */
  nextStep<S extends JournaledStep<object>>(steps: readonly S[]): S | undefined {
    return steps.find((step) => this.step(step).status !== 'done');
  }

  startStep(step: JournaledStep<object>, now = new Date()): void {
    const record = this.step(step);
    record.status = 'running';
    record.startedAt = now.toISOString();
    record.attempts += 1;
    delete record.error;
    this.event(step, record.attempts > 1 ? `resumed (attempt ${record.attempts})` : 'started', now);
  }

  /** Saves part of a running step's details, so that a resumed attempt can continue from them. */
  markForResume<Details extends object>(step: JournaledStep<Details>, details: Partial<Details>): void {
    const record = this.step(step);
    record.details = { ...record.details, ...details };
    this.save();
  }

  finishStep<Details extends object>(step: JournaledStep<Details>, details: Details, now = new Date()): void {
    const record = this.step(step);
    record.status = 'done';
    record.endedAt = now.toISOString();
    record.durationMs = now.getTime() - Date.parse(record.startedAt ?? now.toISOString());
    record.details = { ...record.details, ...details };
    this.event(step, `done in ${record.durationMs} ms`, now);
  }

  failStep(step: JournaledStep<object>, error: { code: string; message: string }, now = new Date()): void {
    const record = this.step(step);
    record.status = 'failed';
    record.endedAt = now.toISOString();
    record.durationMs = now.getTime() - Date.parse(record.startedAt ?? now.toISOString());
    record.error = error;
    this.data.status = 'failed';
    this.event(step, `failed: ${error.message}`, now);
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

  /** Records (or updates) the freeze of production, at once on disk. */
  recordFreeze(freeze: FreezeRecord): void {
    this.data.freeze = { ...freeze };
    this.save();
  }

  /** `tessera upgrade --abort`: a resume is refused from now on. */
  markAborted(now = new Date()): void {
    this.data.status = 'aborted';
    this.data.abortedAt = now.toISOString();
    this.save();
  }

  markRunning(): void {
    this.data.status = 'running';
    this.save();
  }

  event(step: JournaledStep<object>, message: string, now = new Date()): void {
    this.data.events.push({ at: now.toISOString(), step: step.name, message });
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
