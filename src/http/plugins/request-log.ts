import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { redactDatabaseUrl } from '../../db/url.js';

/**
 * One log line per request, written when the answer is sent (Fastify's own two lines, "incoming request"
 * and "request completed", are turned off in app.ts). Its level says how it went:
 * - 2xx and 3xx at debug: /metrics counts them, and at the default level the log keeps to what an operator
 *   may act on (starts, deployments, stores, refusals, failures) instead of being mostly traffic (294 of a
 *   session's 315 lines were); `logging.level = "debug"` shows every request;
 * - 4xx at info, with the refusal's code and message and no stack: the client's mistake (bad input, a
 *   wrong password), not the server's;
 * - 5xx at error, with the error's stack, once (the error handler only notes it here).
 */
export function registerRequestLog(app: FastifyInstance): void {
  // A callback hook, not an async one: no promise and no microtask per request.
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    // 2xx and 3xx go out at debug: when debug is off, their fields and message are never built.
    if (status < 400 && !debugEnabled(request.log)) return done();
    const url = loggableUrl(request.url);
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    const outcome = outcomes.get(request);
    const fields = {
      req: { method: request.method, url },
      res: { statusCode: status },
      responseTime: ms,
      ...(outcome?.code === undefined ? {} : { error: outcome.code }),
      ...(outcome?.message === undefined ? {} : { reason: redactDatabaseUrl(outcome.message) }),
    };
    const message = `${request.method} ${url} ${status} ${ms} ms`;
    if (status >= 500) request.log.error({ ...fields, err: outcome?.error }, message);
    else if (status >= 400) request.log.info(fields, message);
    else request.log.debug(fields, message);
    done();
  });
}

/** pino's `isLevelEnabled` (Fastify's logger type does not name it); another logger is asked every time. */
function debugEnabled(log: FastifyBaseLogger & { isLevelEnabled?(level: string): boolean }): boolean {
  return log.isLevelEnabled?.('debug') ?? true;
}

interface Outcome {
  /** The `error` code the answer carries. */
  code?: string;
  /** Why a request was refused (4xx): one line, no stack. */
  message?: string;
  /** What failed (5xx): logged with its stack. */
  error?: Error;
}

const outcomes = new WeakMap<FastifyRequest, Outcome>();

/** Called by the error handler so that the request's one line says what went wrong. */
export function noteOutcome(request: FastifyRequest, outcome: Outcome): void {
  outcomes.set(request, outcome);
}

/** Query parameter names whose values are never logged (a token or a password in a URL is still one). */
const SECRET_PARAMETER = /pass|secret|token|key|auth|session|sig|code|credential/i;

/** The URL as logged: the path, and the query with the values of secret-looking parameters masked. */
export function loggableUrl(url: string): string {
  const question = url.indexOf('?');
  if (question === -1) return url;
  const query = url
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      let name = pair.slice(0, equals);
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: test the raw name.
      }
      return SECRET_PARAMETER.test(name) ? `${pair.slice(0, equals)}=***` : pair;
    })
    .join('&');
  return `${url.slice(0, question)}?${query}`;
}
