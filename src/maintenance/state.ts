/** Retry-After when the operator names none: long enough not to hammer a node, short enough to notice `off`. */
export const DEFAULT_RETRY_AFTER_SECONDS = 120;

export const DEFAULT_MESSAGE =
  'The server is in maintenance: changes are refused for now; reads and logins work.';

/** The cluster's maintenance mode as the database holds it (README, Maintenance mode). */
export interface MaintenanceState {
  on: boolean;
  /** Shown to clients refused a write (and by the console's banner). */
  message: string;
  /** Sent as `Retry-After` with every refusal. */
  retryAfterSeconds: number;
  /** When the last switch happened (epoch ms); undefined before the first. */
  since: number | undefined;
  /** Who made the last switch: `admin` through the API, `cli:<user>@<host>` from the command line. */
  by: string | undefined;
  /**
   * Grows by one with every switch, on or off. Nodes acknowledge a generation, so that an acknowledgement
   * of an earlier `on` is never taken for one of a later `on`; 0 on a database never switched.
   */
  generation: number;
}

/** A database nobody ever switched: off, generation 0. */
export const NEVER_SWITCHED: MaintenanceState = Object.freeze({
  on: false,
  message: '',
  retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
  since: undefined,
  by: undefined,
  generation: 0,
});

/** What a switch asks for; the message and Retry-After matter only for `on`. */
export interface MaintenanceChange {
  on: boolean;
  message?: string | undefined;
  retryAfterSeconds?: number | undefined;
  by: string;
}

/** The longest message kept: it goes into every refusal and a console banner, not a document. */
export const MAX_MESSAGE_LENGTH = 500;
/** A day: a client told to come back later than that would rather be told to come back at all. */
export const MAX_RETRY_AFTER_SECONDS = 86_400;
