import { EventEmitter, once } from 'node:events';
import http, { type IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { Pool } from 'undici';
import { WebSocketServer } from 'ws';
import {
  type AppConfig,
  type AppEndpoint,
  type AppLimits,
  type AppState,
  type AppStatus,
  DEFAULT_APP_LIMITS,
  KEY_HEADER,
  type RunningApp,
} from '../../src/webapps/runtime/contract.js';
import { OpenTunnels } from '../../src/webapps/runtime/open-tunnels.js';

/** What the app's process received for one request (or upgrade). */
export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * The app side for the front's tests: a real `node:http` server on a Unix socket, as an app's host is, that
 * refuses requests without the key and records what reaches it. Paths (below the mount) choose behaviour.
 */
export class Upstream {
  readonly received: Received[] = [];
  /** `request` (Received, on arrival), `closed` (url: the request's response closed before it finished). */
  readonly events = new EventEmitter();
  readonly #held: Array<() => void> = [];
  readonly #server: http.Server;
  readonly #sockets = new Set<import('node:net').Socket>();

  private constructor(
    readonly socketPath: string,
    readonly key: string,
  ) {
    const wss = new WebSocketServer({ noServer: true });
    this.#server = http.createServer((req, res) => this.#serve(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('upgrade', (req, socket, head) => {
      if (req.headers[KEY_HEADER] !== key) return socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: head });
      if (req.url?.startsWith('/ws-hang')) return; // never answers
      if (req.url?.startsWith('/ws-die')) return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data) => ws.send(`echo:${String(data)}`));
      });
    });
  }

  static async start(folder: string, key = 'the-key'): Promise<Upstream> {
    const upstream = new Upstream(path.join(folder, 'app.sock'), key);
    upstream.#server.listen(upstream.socketPath);
    await once(upstream.#server, 'listening');
    return upstream;
  }

  /** Answers every request held at `/hold`. */
  release(): void {
    for (const answer of this.#held.splice(0)) answer();
  }

  /** The last request whose path starts with `prefix`. */
  last(prefix: string): Received | undefined {
    return this.received.filter((r) => r.url.startsWith(prefix)).at(-1);
  }

  /** Resolves with the next request whose path starts with `prefix`. */
  async next(prefix: string): Promise<Received> {
    for (;;) {
      const [received] = (await once(this.events, 'request')) as [Received];
      if (received.url.startsWith(prefix)) return received;
    }
  }

  /** Resolves once a request whose path starts with `prefix` was cut before its answer was complete. */
  async closed(prefix: string): Promise<string> {
    for (;;) {
      const [url] = (await once(this.events, 'closed')) as [string];
      if (url.startsWith(prefix)) return url;
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.headers[KEY_HEADER] !== this.key) {
      res.writeHead(403).end('no key');
      return;
    }
    const url = req.url ?? '/';
    res.on('close', () => {
      if (!res.writableFinished) this.events.emit('closed', url);
    });
    const chunks: Buffer[] = [];
    const record: Received = { method: req.method ?? '', url, headers: req.headers, body: Buffer.alloc(0) };
    this.received.push(record);
    // Streamed paths answer before (or without) the whole body.
    if (this.#early(url, req, res)) {
      this.events.emit('request', record);
      return;
    }
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      record.body = Buffer.concat(chunks);
      this.events.emit('request', record);
      this.#answer(url, record, res);
    });
  }

  #early(url: string, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (url.startsWith('/upload')) {
      // Counts the body; never answers, so only the front can end the request.
      req.resume();
      return true;
    }
    if (url.startsWith('/hang')) return true;
    if (url.startsWith('/hold')) {
      this.#held.push(() => res.end('released'));
      return true;
    }
    if (url.startsWith('/sse')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: one\n\n');
      this.events.once('sse-next', () => res.end('data: two\n\n'));
      return true;
    }
    if (url.startsWith('/die-early')) {
      req.socket.destroy();
      return true;
    }
    if (url.startsWith('/die-mid')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial', () => req.socket.destroy());
      return true;
    }
    return false;
  }

  #answer(url: string, record: Received, res: http.ServerResponse): void {
    if (url.startsWith('/redirect')) {
      const to = new URLSearchParams(url.split('?')[1]).get('to') ?? '/';
      res.writeHead(302, { location: to }).end();
      return;
    }
    if (url.startsWith('/cookies')) {
      res.setHeader('set-cookie', ['a=1; Path=/', 'tessera_session=evil; Path=/', 'b=2']);
      res.setHeader('content-security-policy', "default-src 'self'");
      res.setHeader('x-app', ['one', 'two']);
      res.end('cookies');
      return;
    }
    if (url.startsWith('/fixed')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '11' }).end('hello world');
      return;
    }
    const body = {
      method: record.method,
      url: record.url,
      headers: record.headers,
      body: record.body.toString('utf8'),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

export function nodeConfig(options: { login?: boolean; limits?: Partial<AppLimits> } = {}): AppConfig {
  return {
    runtime: 'node',
    entry: 'server.js',
    login: options.login ?? false,
    env: {},
    limits: { ...DEFAULT_APP_LIMITS, ...options.limits },
  };
}

/**
 * A running app as the directory hands it to the front, over a real upstream (the process side is the
 * "proc" part's, tested there): its state is set by the test.
 */
export class TestApp implements RunningApp {
  #state: AppState = 'running';
  #waiting: Array<(status: AppStatus) => void> = [];
  readonly #endpoint: AppEndpoint;
  retryAfter = 3;
  /** `settled`: someone waits for the app to leave `starting`. */
  readonly asked = new EventEmitter();

  constructor(
    readonly tenantId: number,
    readonly tenantDomain: string,
    readonly name: string,
    readonly config: AppConfig,
    upstream: Upstream,
  ) {
    const pool = new Pool('http://localhost', { socketPath: upstream.socketPath });
    this.#endpoint = { socketPath: upstream.socketPath, key: upstream.key, pool, tunnels: new OpenTunnels() };
  }

  setState(state: AppState): void {
    this.#state = state;
    if (state !== 'starting') for (const resolve of this.#waiting.splice(0)) resolve(this.status());
  }

  status(): AppStatus {
    return {
      state: this.#state,
      restarts: 0,
      since: new Date(),
      ...(this.#state === 'error' ? { reason: 'SyntaxError: secret stack at /srv/app/server.js:1' } : {}),
    };
  }

  endpoint(): AppEndpoint | undefined {
    return this.#state === 'running' ? this.#endpoint : undefined;
  }

  retryAfterS(): number {
    return this.retryAfter;
  }

  settled(): Promise<AppStatus> {
    if (this.#state !== 'starting') return Promise.resolve(this.status());
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.asked.emit('settled');
    });
  }

  async close(): Promise<void> {
    await this.#endpoint.pool.close();
  }
}
