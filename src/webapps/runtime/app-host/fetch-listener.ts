import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FetchContext, FetchHandler } from './load-entry.js';

/** Promises given to `ctx.waitUntil`, awaited (within a bound) before the host exits on SIGTERM. */
export const pendingWork = new Set<Promise<unknown>>();

/**
 * A fetch handler as a Node request listener: a WHATWG `Request` whose body streams from `req` (nothing is
 * buffered), and the `Response` streamed back. Repeated headers (Set-Cookie) stay repeated both ways.
 */
export function fetchListener(handler: FetchHandler, env: Record<string, string>): RequestListener {
  return (req, res) => {
    void serve(handler, env, req, res).catch((error: unknown) => fail(res, error));
  };
}

async function serve(
  handler: FetchHandler,
  env: Record<string, string>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const aborted = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) aborted.abort();
  });
  const request = toRequest(req, aborted.signal);
  const ctx: FetchContext = {
    waitUntil(promise) {
      const kept = Promise.resolve(promise).catch((error: unknown) => {
        console.error('waitUntil promise rejected:', error);
      });
      pendingWork.add(kept);
      void kept.finally(() => pendingWork.delete(kept));
    },
    passThroughOnException() {},
  };
  const response = await handler.fetch(request, env, ctx);
  if (!(response instanceof Response)) {
    throw new TypeError(`fetch() returned ${typeof response}, not a Response`);
  }
  writeHead(res, response);
  if (!response.body || req.method === 'HEAD') {
    res.end();
    return;
  }
  await copyBody(response.body, res);
}

/**
 * Writes the Response's body to `res` chunk by chunk, waiting for `drain` when the client reads slowly, and
 * cancels the body when the client goes away. Reading the web stream directly replaced
 * `pipeline(Readable.fromWeb(body), res)`, whose Node stream and pipeline per response made the fetch
 * form's hello world cost several times the listener form's CPU (bench/apps, app CPU per request).
 */
async function copyBody(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  let gone = false;
  const cancel = () => {
    if (res.writableFinished) return;
    gone = true;
    reader.cancel().catch(() => {});
  };
  res.once('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || gone) break;
      if (!res.write(value)) await drained(res);
    }
    if (!gone) res.end();
  } finally {
    res.off('close', cancel);
  }
}

/** Resolves on `drain`, or on `close` (the loop then sees `gone`). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const value = req.rawHeaders[i + 1];
    // HTTP/2 pseudo-headers cannot reach a Unix-socket HTTP/1.1 server; skip any ':' name all the same.
    if (name === undefined || value === undefined || name.startsWith(':')) continue;
    headers.append(name, value);
  }
  const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = {
    method: req.method,
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
  };
  return new Request(url, init);
}

function writeHead(res: ServerResponse, response: Response): void {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  res.writeHead(response.status, response.statusText || undefined, headers);
}

function fail(res: ServerResponse, error: unknown): void {
  console.error('fetch handler failed:', error);
  if (!res.headersSent) {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Internal Server Error\n');
  } else {
    res.destroy();
  }
}
