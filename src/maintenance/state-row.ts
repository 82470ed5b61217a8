import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { TesseraError } from '../errors.js';
import { SUPER_TENANT_ID } from '../home/layout.js';
import { contentText } from './content.js';
import {
  DEFAULT_MESSAGE,
  DEFAULT_RETRY_AFTER_SECONDS,
  MAX_MESSAGE_LENGTH,
  MAX_RETRY_AFTER_SECONDS,
  type MaintenanceChange,
  type MaintenanceState,
  NEVER_SWITCHED,
} from './state.js';

/**
 * The maintenance mode is one row of the super tenant's registry. Release 2.0.1 adds no table or column,
 * so the state lives in what 2.0.0 has, as the tenant id mark does (tenants/id-mark.ts): a row survives
 * restarts, is read by every node of the cluster from the one database they share, and travels with the
 * database (export, import, an upgrade's copy). The path does not start with `/`, so the registry API,
 * which normalises every path to an absolute one, can neither name nor list it: a tenant admin cannot
 * switch the mode through the registry. The row's `version` is the generation, so that a switch is a
 * compare-and-set one UPDATE can make (two operators switching at once cannot both take one generation).
 */
export const MAINTENANCE_PATH = 'tessera:maintenance';
const MEDIA_TYPE = 'application/json';
const WRITER = 'tessera:maintenance';
const SWITCH_ATTEMPTS = 5;

interface StoredContent {
  on: boolean;
  message: string;
  retryAfterSeconds: number;
  by: string;
}

/** The state in the database; a database never switched reads as off, generation 0. */
export async function readMaintenanceState(db: Kysely<Schema>): Promise<MaintenanceState> {
  const row = await db
    .selectFrom('registry_resources')
    .select(['version', 'content', 'created_at'])
    .where('tenant_id', '=', SUPER_TENANT_ID)
    .where('path', '=', MAINTENANCE_PATH)
    .orderBy('version', 'desc')
    .executeTakeFirst();
  if (row === undefined) return NEVER_SWITCHED;
  const content = parseContent(row.content);
  return {
    on: content.on,
    message: content.message,
    retryAfterSeconds: content.retryAfterSeconds,
    since: Number(row.created_at),
    by: content.by,
    generation: Number(row.version),
  };
}

/** Checks what an operator asked for before anything is written. */
export function checkChange(change: MaintenanceChange): void {
  if (change.message !== undefined && change.message.length > MAX_MESSAGE_LENGTH)
    throw new TesseraError('BAD_REQUEST', `The message may have at most ${MAX_MESSAGE_LENGTH} characters.`);
  const seconds = change.retryAfterSeconds;
  if (
    seconds !== undefined &&
    !(Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_RETRY_AFTER_SECONDS)
  )
    throw new TesseraError(
      'BAD_REQUEST',
      `Retry-After must be a whole number of seconds from 1 to ${MAX_RETRY_AFTER_SECONDS}.`,
    );
}

/**
 * Records a switch as the next generation and returns the state written. Switching to the state it is
 * already in still moves the generation on: `on` twice asks every node to acknowledge again (a node that
 * was stopped while the first one went out, say).
 */
export async function switchMaintenance(
  db: Kysely<Schema>,
  change: MaintenanceChange,
  now = Date.now(),
): Promise<MaintenanceState> {
  checkChange(change);
  const content: StoredContent = {
    on: change.on,
    message: change.on ? change.message?.trim() || DEFAULT_MESSAGE : '',
    retryAfterSeconds: change.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
    by: change.by,
  };
  const bytes = Buffer.from(JSON.stringify(content), 'utf8');
  for (let attempt = 1; ; attempt++) {
    const current = await readMaintenanceState(db);
    const generation = current.generation + 1;
    try {
      if (current.generation === 0) {
        // Two first switches at once insert the same (tenant, path, version): the unique index refuses one.
        await db
          .insertInto('registry_resources')
          .values({
            tenant_id: SUPER_TENANT_ID,
            path: MAINTENANCE_PATH,
            version: generation,
            media_type: MEDIA_TYPE,
            content: bytes,
            created_by: WRITER,
            created_at: now,
          })
          .execute();
        // The unique index is on (tenant, path, version): if another first switch inserted version 1 and a
        // third moved it on before this insert, this one made a second row. An early insert has been moved
        // on, so the row still at version 1 beside a higher one is the late one: if it is this switch's own
        // (its bytes and time), it is taken back and the switch tried again on the row that stays, which
        // readers take anyway (the highest version).
        const rows = await db
          .selectFrom('registry_resources')
          .select(['version', 'content', 'created_at'])
          .where('tenant_id', '=', SUPER_TENANT_ID)
          .where('path', '=', MAINTENANCE_PATH)
          .execute();
        const own = rows.find(
          (row) =>
            Number(row.version) === generation &&
            Number(row.created_at) === now &&
            contentText(row.content) === bytes.toString('utf8'),
        );
        if (rows.length > 1 && own) {
          await db
            .deleteFrom('registry_resources')
            .where('tenant_id', '=', SUPER_TENANT_ID)
            .where('path', '=', MAINTENANCE_PATH)
            .where('version', '=', generation)
            .execute();
          throw new SwitchRace();
        }
      } else {
        const updated = await db
          .updateTable('registry_resources')
          .set({ version: generation, content: bytes, created_at: now })
          .where('tenant_id', '=', SUPER_TENANT_ID)
          .where('path', '=', MAINTENANCE_PATH)
          .where('version', '=', current.generation)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) throw new SwitchRace();
      }
      return { ...content, since: now, generation };
    } catch (error) {
      const raced = error instanceof SwitchRace || /unique|duplicate/i.test((error as Error).message);
      if (!raced || attempt >= SWITCH_ATTEMPTS) throw error;
    }
  }
}

/** Another switch took the generation this one read: read again and take the next. */
class SwitchRace extends Error {}

function parseContent(content: Uint8Array | string): StoredContent {
  let value: Partial<StoredContent> = {};
  try {
    value = JSON.parse(contentText(content)) as Partial<StoredContent>;
  } catch {
    // A row nobody can read is taken as on: refusing writes is the safe side of a state one cannot tell.
    value = { on: true };
  }
  return {
    on: value.on !== false,
    message: typeof value.message === 'string' ? value.message : DEFAULT_MESSAGE,
    retryAfterSeconds:
      typeof value.retryAfterSeconds === 'number' ? value.retryAfterSeconds : DEFAULT_RETRY_AFTER_SECONDS,
    by: typeof value.by === 'string' ? value.by : 'unknown',
  };
}
