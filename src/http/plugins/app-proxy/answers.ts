import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TesseraError } from '../../../errors.js';
import type { AppState } from '../../../webapps/runtime/contract.js';
import { noteOutcome } from '../request-log.js';

/**
 * What Tessera answers itself, instead of the app, for a request to a node app: the same value is sent
 * through Fastify for plain requests and written on the raw socket for upgrades, so both say the same.
 * The codes follow the API's `{ error, message }` shape; they are the front's own (none is thrown as a
 * `TesseraError`: nothing here is an API failure).
 */
export interface Answer {
  readonly status: number;
  /** `error` of the JSON body; absent for the 401 challenge and redirects. */
  readonly code?: string;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Extra members of the JSON body. */
  readonly extra?: Readonly<Record<string, string | number>>;
}

export function badPath(): Answer {
  return {
    status: 400,
    code: 'BAD_REQUEST',
    message: 'The path has a "." or ".." segment, or an encoded "/", "\\" or NUL; it is not forwarded.',
  };
}

/** The challenge static apps send too, so that a browser asks for the tenant's user and password. */
export function loginRequired(appName: string): Answer {
  return {
    status: 401,
    message: 'Authentication required\n',
    headers: { 'www-authenticate': `Basic realm="${appName}"` },
  };
}

/**
 * A login refused with a reason (a lock, README Login lockout; an expired password; a store not loaded yet):
 * the API's own answer, as the static apps' login gives it, with `Retry-After` when the error has one.
 */
export function refusedLogin(refusal: TesseraError): Answer {
  return {
    status: refusal.httpStatus,
    code: refusal.code,
    message: refusal.message,
    ...(refusal.retryAfterSeconds === undefined
      ? {}
      : { headers: { 'retry-after': String(refusal.retryAfterSeconds) } }),
  };
}

export function redirect(location: string): Answer {
  return { status: 301, message: '', headers: { location } };
}

/** A browser without a session, sent to the sign-in page (README, Signing in to apps); never cached. */
export function seeOther(location: string): Answer {
  return { status: 303, message: '', headers: { location, 'cache-control': 'no-store' } };
}

/**
 * 503 while the app is not running. For `error` it says only that the app failed: the reason (its stack,
 * its exit code) is for the tenant's admins, in the API, not for every visitor.
 */
export function notRunning(appName: string, state: AppState, retryAfterS: number): Answer {
  const why =
    state === 'error'
      ? `The app ${appName} failed and is not serving requests.`
      : `The app ${appName} is ${state === 'stopped' ? 'not running' : state}.`;
  return {
    status: 503,
    code: 'APP_UNAVAILABLE',
    message: `${why} Try again in ${retryAfterS} s.`,
    headers: { 'retry-after': String(retryAfterS) },
    extra: { state },
  };
}

export function busy(appName: string, maxConcurrent: number): Answer {
  return {
    status: 503,
    code: 'APP_BUSY',
    message: `The app ${appName} already has ${maxConcurrent} requests in flight, its limit; try again shortly.`,
    headers: { 'retry-after': '1' },
  };
}

/** `Connection: close`: the rest of the body is not read, so the connection cannot carry another request. */
export function tooLarge(maxBodyMb: number): Answer {
  return {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: `The request body is larger than this app's limit of ${maxBodyMb} MB.`,
    headers: { connection: 'close' },
  };
}

export function timedOut(appName: string, seconds: number): Answer {
  return {
    status: 504,
    code: 'APP_TIMEOUT',
    message: `The app ${appName} did not answer within ${seconds} s.`,
  };
}

export function upstreamFailed(appName: string): Answer {
  return {
    status: 502,
    code: 'APP_FAILED',
    message: `The app ${appName} closed the connection before it answered.`,
  };
}

export function methodNotAllowed(method: string): Answer {
  return {
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    message: `A static app answers GET and HEAD, not ${method}.`,
    headers: { allow: 'GET, HEAD' },
  };
}

export function notFound(): Answer {
  return { status: 404, code: 'NOT_FOUND', message: 'No WebSocket endpoint here.' };
}

function bodyOf(answer: Answer): { type: string; text: string } {
  if (answer.code === undefined) return { type: 'text/plain; charset=utf-8', text: answer.message };
  const body = { error: answer.code, message: answer.message, ...answer.extra };
  return { type: 'application/json; charset=utf-8', text: JSON.stringify(body) };
}

/** Sends `answer` through Fastify (its hooks run: the request's log line, the security headers). */
export function sendAnswer(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: Answer,
  cause?: Error,
): FastifyReply {
  if (answer.code !== undefined && answer.status >= 400) {
    noteOutcome(
      request,
      cause ? { code: answer.code, error: cause } : { code: answer.code, message: answer.message },
    );
  }
  reply.code(answer.status).headers({ ...answer.headers });
  if (answer.status === 301 || answer.status === 303) return reply.send();
  const { type, text } = bodyOf(answer);
  return reply.type(type).send(text);
}

/** Writes `answer` as a whole HTTP/1.1 response on a socket taken by an upgrade, and closes it. */
export function writeAnswer(socket: Duplex, answer: Answer): void {
  const { type, text } =
    answer.status === 301 || answer.status === 303 ? { type: '', text: '' } : bodyOf(answer);
  const lines = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`, 'connection: close'];
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    if (name !== 'connection') lines.push(`${name}: ${value}`);
  }
  if (type) lines.push(`content-type: ${type}`);
  lines.push(`content-length: ${Buffer.byteLength(text)}`, 'x-content-type-options: nosniff', '', text);
  socket.end(lines.join('\r\n'));
}
