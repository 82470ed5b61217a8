import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { AppDirectory, AppRequestMetrics, RunningApp } from '../../webapps/runtime/contract.js';
import { type Admitted, admit, isAnswer, type NodeAppRequest } from './app-proxy/admission.js';
import { busy, sendAnswer, timedOut, tooLarge, upstreamFailed } from './app-proxy/answers.js';
import { limitedBody } from './app-proxy/body-limit.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './app-proxy/headers.js';
import { InFlight } from './app-proxy/in-flight.js';
import { WEBAPP_CSP } from './webapp-sandbox.js';

/** What the webapps plugin needs to serve `runtime = "node"` apps. */
export interface NodeAppsOptions {
  /** The running apps. */
  apps: AppDirectory;
  metrics?: AppRequestMetrics;
}

/** What the end of an exchange (the client's response closing) settles, filled in as the request goes. */
interface Ending {
  /** Frees the request's slot among the app's `max_concurrent`. */
  leave: (() => void) | undefined;
  /** Aborts the app's request when the client went away first. */
  clientGone: (() => void) | undefined;
}

/** Why a forwarded request ended early, whichever came first. */
type Cut = 'timeout' | 'too-large' | 'client-gone';

/** The status recorded for a request whose client went away before its answer was sent (nginx's 499). */
const CLIENT_GONE = 499;

/**
 * The HTTP front of node apps: decides each request in Tessera's process and forwards it over the app's
 * keep-alive pool, streaming both bodies (DESIGN.md section 4, Applications).
 */
export class AppProxy {
  readonly #options: NodeAppsOptions;
  readonly #inFlight = new InFlight();

  constructor(options: NodeAppsOptions) {
    this.#options = options;
  }

  get apps(): AppDirectory {
    return this.#options.apps;
  }

  /** Requests in flight to `app` through this front (for tests and metrics). */
  inFlight(app: RunningApp): number {
    return this.#inFlight.count(app);
  }

  /** Answers `request` for the node app `target`: refused here, or forwarded and its answer streamed back. */
  async handle(request: FastifyRequest, reply: FastifyReply, target: NodeAppRequest): Promise<FastifyReply> {
    const started = performance.now();
    const ending: Ending = { leave: undefined, clientGone: undefined };
    // One listener for all the end of the exchange settles (a `once` per concern was three closures and
    // wrappers per request, visible in the front's profile).
    reply.raw.once('close', () => {
      const finished = reply.raw.writableFinished;
      ending.leave?.();
      if (!finished) ending.clientGone?.();
      const status = finished ? reply.statusCode : CLIENT_GONE;
      const seconds = (performance.now() - started) / 1000;
      this.#options.metrics?.observeRequest(target.tenantDomain, target.name, status, seconds);
    });
    const admitted = await admit(target, this.#options.apps);
    if (isAnswer(admitted)) return sendAnswer(request, reply, admitted);

    // The limits the running process was started with (the deployed settings, once it has restarted).
    const { limits } = admitted.app.config;
    const leave = this.#inFlight.enter(admitted.app, limits.maxConcurrent);
    if (!leave) return sendAnswer(request, reply, busy(target.name, limits.maxConcurrent));
    ending.leave = leave;
    const maxBytes = limits.maxBodyMb * 1024 * 1024;
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      return sendAnswer(request, reply, tooLarge(limits.maxBodyMb));
    }
    return this.#forward(request, reply, target, admitted, maxBytes, ending);
  }

  async #forward(
    request: FastifyRequest,
    reply: FastifyReply,
    target: NodeAppRequest,
    admitted: Admitted,
    maxBytes: number,
    ending: Ending,
  ): Promise<FastifyReply> {
    const { limits } = admitted.app.config;
    // undici takes an EventEmitter as a request's signal: an AbortController per request (its EventTarget
    // and AbortSignal) cost more in the front's profile than the whole header rewriting.
    const abort = new EventEmitter();
    let cut: Cut | undefined;
    const stop = (why: Cut) => {
      if (cut !== undefined) return;
      cut = why;
      abort.emit('abort');
    };
    ending.clientGone = () => stop('client-gone');
    const timer = setTimeout(() => stop('timeout'), limits.requestTimeoutS * 1000);
    const declared = request.headers['content-length'];
    const hasBody =
      declared !== undefined ? Number(declared) > 0 : request.headers['transfer-encoding'] !== undefined;

    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await admitted.endpoint.pool.request({
        path: admitted.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: upstreamRequestHeaders(request.raw.rawHeaders, {
          mount: target.mount,
          proto: request.protocol === 'https' ? 'https' : 'http',
          clientAddress: request.socket.remoteAddress,
          tenantDomain: target.tenantDomain,
          user: admitted.user,
          key: admitted.endpoint.key,
          requestId: request.id,
          upgrade: false,
        }),
        body: hasBody ? limitedBody(request.raw, maxBytes, () => stop('too-large')) : null,
        signal: abort,
        // The front's own timer above bounds the wait for the head; a body may stream (SSE) for as long
        // as the client stays.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
    } catch (error) {
      clearTimeout(timer);
      if (cut === 'client-gone') return reply;
      if (cut === 'timeout') {
        return sendAnswer(request, reply, timedOut(target.name, limits.requestTimeoutS));
      }
      if (cut === 'too-large') return sendAnswer(request, reply, tooLarge(limits.maxBodyMb));
      return sendAnswer(request, reply, upstreamFailed(target.name), error as Error);
    }
    clearTimeout(timer);

    const headers = clientResponseHeaders(upstream.headers, target.mount, WEBAPP_CSP);
    // Per-user content: shared caches must not keep it unless the app says otherwise.
    if (target.config.login && headers['cache-control'] === undefined) headers['cache-control'] = 'private';
    reply.code(upstream.statusCode).headers(headers);
    const status = upstream.statusCode;
    if (request.method === 'HEAD' || status === 204 || status === 304) {
      await upstream.body.dump();
      return reply.send();
    }
    // Fastify writes the head with the first chunk of a streamed body; an event stream (or any body of
    // unknown length) may send its first chunk much later, and its client waits for the head meanwhile.
    if (headers['content-length'] === undefined) reply.raw.once('pipe', () => reply.raw.flushHeaders());
    return reply.send(upstream.body);
  }
}
