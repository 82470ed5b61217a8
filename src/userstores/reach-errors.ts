import { type ErrorCode, TesseraError } from '../errors.js';

/**
 * What anyone but the super tenant's admin is told of a failure to reach a store's database or directory.
 * The driver's reason (connection refused at host:port, a timeout, a refused bind, a missing search base)
 * would let a tenant admin map the server's network, one store definition at a time.
 */
export const UNREACHABLE_MESSAGE = 'Cannot connect to the database/directory.';

/** The codes whose messages carry a driver's reason. */
const REACH_FAILURE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'DB_CONNECT_FAILED',
  'STORE_UNAVAILABLE',
]);

/** Whether `error` is a failure to reach a database or directory, its message the driver's reason. */
export function isReachFailure(error: unknown): error is TesseraError {
  return error instanceof TesseraError && REACH_FAILURE_CODES.has(error.code);
}

/** The error with its code kept and the driver's reason gone; other errors are returned as they are. */
export function withoutReachDetails<E>(error: E): E | TesseraError {
  if (!isReachFailure(error)) return error;
  return new TesseraError(error.code, UNREACHABLE_MESSAGE, {
    hint: "Check the URL and credentials; the super tenant's admin can test the store for the reason.",
  });
}
