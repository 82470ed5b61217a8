/**
 * Every failure a user can see carries a stable code, the HTTP status the API answers with and the exit
 * code the CLI ends with (README, Command line: 1 for a failure, 2 for bad usage or a refused precondition).
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'PASSWORD_POLICY'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BAD_USAGE'
  | 'CONFIG_INVALID'
  | 'DB_URL_INVALID'
  | 'DB_CONNECT_FAILED'
  | 'DATABASE_MISSING'
  | 'SCHEMA_EMPTY'
  | 'SCHEMA_OLDER'
  | 'SCHEMA_NEWER'
  | 'SCHEMA_TAMPERED'
  | 'SCHEMA_INCOMPLETE'
  | 'SCHEMA_RETIRED'
  | 'RELEASE_UNKNOWN'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'READ_ONLY_STORE'
  | 'STORE_UNAVAILABLE'
  | 'PORT_IN_USE'
  | 'NODE_RUNNING'
  | 'UNSAFE_ARCHIVE'
  | 'QUOTA_EXCEEDED'
  | 'VERIFY_FAILED'
  | 'SMOKE_FAILED'
  | 'PREFLIGHT_FAILED'
  | 'CHECKPOINTS_FAILED'
  | 'MAINTENANCE'
  | 'TOO_MANY_ATTEMPTS'
  | 'PASSWORD_EXPIRED'
  | 'SECOND_FACTOR_REQUIRED'
  | 'SECOND_FACTOR_ENROLMENT_REQUIRED'
  | 'INTERNAL';

const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  PASSWORD_POLICY: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BAD_USAGE: 400,
  CONFIG_INVALID: 500,
  DB_URL_INVALID: 400,
  DB_CONNECT_FAILED: 503,
  DATABASE_MISSING: 412,
  SCHEMA_EMPTY: 503,
  SCHEMA_OLDER: 503,
  SCHEMA_NEWER: 503,
  SCHEMA_TAMPERED: 503,
  SCHEMA_INCOMPLETE: 503,
  SCHEMA_RETIRED: 503,
  RELEASE_UNKNOWN: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  READ_ONLY_STORE: 409,
  STORE_UNAVAILABLE: 503,
  PORT_IN_USE: 500,
  NODE_RUNNING: 409,
  UNSAFE_ARCHIVE: 400,
  QUOTA_EXCEEDED: 413,
  VERIFY_FAILED: 500,
  SMOKE_FAILED: 500,
  PREFLIGHT_FAILED: 412,
  CHECKPOINTS_FAILED: 500,
  MAINTENANCE: 503,
  TOO_MANY_ATTEMPTS: 429,
  PASSWORD_EXPIRED: 403,
  /** The password was right; a TOTP code (or a recovery code) must come with it. */
  SECOND_FACTOR_REQUIRED: 401,
  /** An admin whose tenant requires a second factor has none yet: only enrolment is open to them. */
  SECOND_FACTOR_ENROLMENT_REQUIRED: 403,
  INTERNAL: 500,
};

/** Refusals the operator can fix before trying again exit with 2, real failures with 1. */
const REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_USAGE',
  'CONFIG_INVALID',
  'DB_URL_INVALID',
  'DATABASE_MISSING',
  'SCHEMA_OLDER',
  'SCHEMA_NEWER',
  'SCHEMA_TAMPERED',
  'SCHEMA_INCOMPLETE',
  'SCHEMA_RETIRED',
  'RELEASE_UNKNOWN',
  'PORT_IN_USE',
  'NODE_RUNNING',
  'PREFLIGHT_FAILED',
]);

export class TesseraError extends Error {
  readonly code: ErrorCode;
  /** What the operator should do next; printed on its own line by the CLI. */
  readonly hint: string | undefined;
  /** When to try again, for a refusal that passes (maintenance, a locked login): the API sends it as `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.hint = options.hint;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  get exitCode(): 1 | 2 {
    return REFUSALS.has(this.code) ? 2 : 1;
  }
}

export function isTesseraError(error: unknown, code?: ErrorCode): error is TesseraError {
  return error instanceof TesseraError && (code === undefined || error.code === code);
}
