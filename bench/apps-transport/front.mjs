// One configuration under test. Usage: node front.mjs MODE; prints one JSON line {port, appPid} when ready.
//   bare:   node:http with the handler in this process (the reference).
//   proxy:  Fastify -> http.request with a keep-alive agent over a Unix socket -> child (b).
//   undici: Fastify -> undici Pool over a Unix socket -> child (c).
//   socket: Fastify reads and decides the first request, then hands the client socket to the child (d).
//   frames: Fastify -> multiplexed frames over one Unix socket -> child (e).
// Every Fastify front does Tessera's per-request work (decide.mjs), counts requests in flight (503 past
// the limit) and arms a timeout per request (504), since the product has to.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Fastify from 'fastify';
import { decide } from './decide.mjs';
import { DATA, FrameWriter, RESET, readFrames } from './frames.mjs';
import { handler } from './handler.mjs';

const mode = process.argv[2];
const MAX_CONCURRENT = 64;
const REQUEST_TIMEOUT_MS = 30_000;
const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: MAX_CONCURRENT }); // (b) only
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

const dir = mkdtempSync(join(tmpdir(), 'tessera-apps-transport-'));
const socketPath = join(dir, 'app.sock');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
process.on('SIGTERM', () => process.exit(0));

if (mode === 'bare') {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  server.listen(0, '127.0.0.1', () => announce(server.address().port, process.pid));
} else {
  const childMode = { proxy: 'http', undici: 'http', socket: 'socket', frames: 'frames' }[mode];
  if (!childMode) throw new Error(`unknown mode ${mode}`);
  const child = fork(new URL('./child.mjs', import.meta.url), [childMode, socketPath], { stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    console.error(`app process exited (${code ?? signal})`);
    process.exit(1);
  });
  await new Promise((resolve) => child.once('message', resolve));
  const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null)); // bodies stream to the app
  const forward =
    mode === 'proxy'
      ? viaHttpRequest
      : mode === 'undici'
        ? await viaUndici()
        : mode === 'socket'
          ? viaSocketHandOver(child)
          : await viaFrames();
  let inFlight = 0;
  app.all('/*', (request, reply) => {
    const decision = decide(request.raw.url, request.headers, request.socket.remoteAddress);
    if (decision.status !== 0) return reply.code(decision.status).send();
    if (mode === 'socket') return forward(request, reply, decision);
    if (inFlight >= MAX_CONCURRENT) return reply.code(503).send();
    inFlight++;
    const timer = setTimeout(() => reply.sent || reply.code(504).send(), REQUEST_TIMEOUT_MS);
    reply.raw.once('close', () => {
      inFlight--;
      clearTimeout(timer);
    });
    return forward(request, reply, decision);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  announce(app.server.address().port, child.pid);
}

function announce(port, appPid) {
  process.stdout.write(`${JSON.stringify({ port, appPid, frontPid: process.pid })}\n`);
}

/** Copies the app's response head onto the reply, minus what the front's own connection decides. */
function replyHead(reply, status, headers) {
  reply.code(status);
  for (const name in headers) if (!HOP_BY_HOP.has(name)) reply.header(name, headers[name]);
}

// (b) http.request over a Unix socket, keep-alive agent.
function viaHttpRequest(request, reply, decision) {
  const upstream = http.request({
    socketPath,
    agent: keepAliveAgent,
    method: request.method,
    path: decision.path,
    headers: decision.headers,
  });
  upstream.on('response', (response) => {
    replyHead(reply, response.statusCode, response.headers);
    reply.send(response);
  });
  upstream.on('error', () => reply.sent || reply.code(502).send());
  request.raw.pipe(upstream);
  return reply;
}

// (c) undici Pool over a Unix socket. undici is not a dependency of Tessera: resolved from BENCH_UNDICI_DIR.
async function viaUndici() {
  const from = process.env.BENCH_UNDICI_DIR ? join(process.env.BENCH_UNDICI_DIR, 'x.js') : import.meta.url;
  const { Pool } = createRequire(from)('undici');
  const pool = new Pool('http://app.local', { socketPath, connections: MAX_CONCURRENT });
  return async (request, reply, decision) => {
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    try {
      const response = await pool.request({
        path: decision.path,
        method: request.method,
        headers: decision.headers,
        body: hasBody ? request.raw : null,
      });
      replyHead(reply, response.statusCode, response.headers);
      return reply.send(response.body);
    } catch {
      return reply.sent ? reply : reply.code(502).send();
    }
  };
}

// (d) Hand the client socket to the app process after deciding its first request. Later requests on that
// connection are parsed by the child, which asks here over IPC (decide.mjs again) and reports completion.
function viaSocketHandOver(child) {
  let inFlight = 0;
  child.on('message', (message) => {
    if (message.ask !== undefined) {
      const decision =
        inFlight >= MAX_CONCURRENT
          ? { status: 503 }
          : decide(message.url, message.headers, message.remoteAddress);
      if (decision.status === 0) inFlight++;
      child.send({ answer: message.ask, ...decision });
    } else if (message.done !== undefined) {
      inFlight--;
    }
  });
  return (request, reply, decision) => {
    reply.hijack();
    const socket = request.raw.socket;
    socket.pause();
    child.send({ head: requestHead(request.method, decision.path, decision.headers, true) }, socket);
  };
}

/** The rewritten request head as HTTP/1.1 text. */
function requestHead(method, path, headers, keepAlive) {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (Array.isArray(value)) for (const one of value) head += `${name}: ${one}\r\n`;
    else head += `${name}: ${value}\r\n`;
  }
  return `${head}connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
}

// (e) Multiplexed frames over one Unix socket. Each stream is a virtual keep-alive HTTP/1.1 connection into
// the child's node:http server; a stream whose response completed goes back to the idle list for reuse.
async function viaFrames() {
  const net = await import('node:net');
  const link = net.connect(socketPath);
  await new Promise((resolve) => link.once('connect', resolve));
  const writer = new FrameWriter(link);
  /** @type {Map<number, ReturnType<typeof responseReader>>} */
  const busy = new Map();
  /** @type {number[]} */
  const idle = [];
  let nextId = 1;
  readFrames(link, (type, id, payload) => {
    const reader = busy.get(id);
    if (type === DATA) return reader?.data(payload);
    const at = idle.indexOf(id); // the child closed a stream (END or RESET): never reuse it
    if (at >= 0) idle.splice(at, 1);
    if (reader) {
      busy.delete(id);
      reader.end(type === RESET);
    }
  });
  return (request, reply, decision) => {
    const id = idle.pop() ?? nextId++;
    const reader = responseReader(reply, request.method === 'HEAD', () => {
      busy.delete(id);
      idle.push(id);
    });
    busy.set(id, reader);
    writer.write(
      DATA,
      id,
      Buffer.from(requestHead(request.method, decision.path, decision.headers, true), 'latin1'),
    );
    // A request body would follow as DATA frames here, framed by the head's content-length or chunks.
    reply.raw.once('close', () => {
      if (busy.get(id) !== reader) return;
      busy.delete(id); // the client left mid-response: this stream's state is unknown, so it is dropped
      writer.write(RESET, id);
    });
    return reply;
  };
}

/**
 * Reads one raw HTTP/1.1 response from a stream's DATA frames: the head, then the body (de-chunked when the
 * app chunked it), calling `complete` when the response ended so the stream can carry the next request.
 * A response that is whole when its head arrives is sent as one buffer, else streamed.
 */
function responseReader(reply, isHead, complete) {
  let head = Buffer.alloc(0);
  let body = null;
  let chunked = false;
  let remaining = 0; // body bytes still expected when the length is known
  let chunkLeft = 0; // data bytes left in the current chunk
  let skip = 0; // CRLF bytes still to skip after a chunk's data
  let sizeLine = '';
  const finish = () => {
    body?.end();
    complete();
  };
  const onBody = (bytes) => {
    if (!chunked) {
      remaining -= bytes.length;
      body.write(bytes);
      if (remaining <= 0) finish();
      return;
    }
    // De-chunk without joining buffers: chunk data goes on as views of what arrived (joining 64 KiB chunks
    // with their size lines allocated and copied every chunk; garbage collection then dominated).
    let at = 0;
    while (at < bytes.length) {
      if (chunkLeft > 0) {
        const take = Math.min(chunkLeft, bytes.length - at);
        body.write(bytes.subarray(at, at + take));
        chunkLeft -= take;
        at += take;
        if (chunkLeft === 0) skip = 2; // the CRLF after the chunk's data
      } else if (skip > 0) {
        const take = Math.min(skip, bytes.length - at);
        skip -= take;
        at += take;
      } else {
        const lineEnd = bytes.indexOf(10, at); // the size line is short: kept as text until its LF
        sizeLine += bytes.toString('latin1', at, lineEnd < 0 ? bytes.length : lineEnd + 1);
        if (lineEnd < 0) return;
        at = lineEnd + 1;
        chunkLeft = Number.parseInt(sizeLine, 16);
        sizeLine = '';
        if (chunkLeft === 0) return finish(); // no trailers are sent by node:http unless asked
      }
    }
  };
  return {
    data(bytes) {
      if (body) return onBody(bytes);
      head = head.length === 0 ? bytes : Buffer.concat([head, bytes]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = head.toString('latin1', 0, end).split('\r\n');
      const status = Number(lines[0].slice(9, 12));
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        headers[lines[i].slice(0, colon).toLowerCase()] = lines[i].slice(colon + 1).trim();
      }
      replyHead(reply, status, headers);
      const rest = head.subarray(end + 4);
      chunked = headers['transfer-encoding'] === 'chunked';
      remaining = chunked ? 0 : Number(headers['content-length'] ?? 0);
      if (isHead || status === 204 || status === 304 || (!chunked && rest.length >= remaining)) {
        reply.send(isHead ? undefined : rest.subarray(0, remaining));
        body = null;
        return complete();
      }
      body = new PassThrough();
      reply.send(body);
      if (rest.length > 0) onBody(rest);
    },
    end(reset) {
      if (!reply.sent) return reply.code(502).send();
      body?.destroy(reset ? new Error('the app reset the stream') : undefined);
    },
  };
}
