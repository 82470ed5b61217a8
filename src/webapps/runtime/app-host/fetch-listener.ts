import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
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
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), res);
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
