import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, ServerResponse } from 'node:http';
import net, { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { AppDirectory } from '../../../webapps/runtime/contract.js';
import { admit, isAnswer, type NodeAppRequest } from './admission.js';
import { type Answer, notFound, timedOut, upstreamFailed, writeAnswer } from './answers.js';
import { upstreamRequestHeaders } from './headers.js';

/** Decides which node app an upgrade is for (the same lookups as a plain request); `undefined`: none. */
export type UpgradeTarget = (request: IncomingMessage) => Promise<NodeAppRequest | undefined>;

/** Header values written on the raw socket: Node's parser already refused CR and LF from the client. */
const SAFE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Tunnels WebSocket (and other) upgrades to node apps: the same decision as a plain request, then the
 * rewritten request head is written to the app's socket and bytes flow both ways untouched.
 *
 * Node hands every upgrade to the server's `upgrade` listener once there is one; without one (Tessera
 * before node apps) it answered an upgrade as a plain request. That stays so for anything that is not a
 * node app (`curl --http2` sends `Upgrade: h2c` with every request): a request without a body is passed to
 * the server's ordinary handler, answered there, and its connection closed; one with a body gets 404.
 */
export class UpgradeTunnels {
  readonly #open = new Set<Duplex>();

  constructor(
    private readonly server: Server,
    private readonly apps: AppDirectory,
    private readonly targetOf: UpgradeTarget,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** The `upgrade` listener of the HTTP server. */
  readonly listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.#track(socket);
    socket.on('error', () => socket.destroy());
    this.#upgrade(request, socket, head).catch((error: unknown) => {
      this.log.error({ err: error, url: request.url }, 'app upgrade failed');
      socket.destroy();
    });
  };

  /** Closes every tunnel (the server is stopping). */
  closeAll(): void {
    for (const socket of this.#open) socket.destroy();
    this.#open.clear();
  }

  async #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const target = await this.targetOf(request);
    if (!target) return this.#passOn(request, socket);
    const admitted = await admit({ ...target, upgrade: true }, this.apps);
    if (isAnswer(admitted)) return this.#refuse(request, socket, admitted);

    const requestId = randomUUID();
    const headers = upstreamRequestHeaders(request.rawHeaders, {
      mount: target.mount,
      proto: (request.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      clientAddress: request.socket.remoteAddress,
      tenantDomain: target.tenantDomain,
      user: admitted.user,
      key: admitted.endpoint.key,
      requestId,
      upgrade: true,
    });
    const lines = [`${request.method} ${admitted.path} HTTP/1.1`];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const value = headers[i + 1] as string;
      if (!SAFE_VALUE.test(value)) return this.#refuse(request, socket, upstreamFailed(target.name));
      lines.push(`${headers[i]}: ${value}`);
    }
    const upstream = net.connect(admitted.endpoint.socketPath);
    this.#track(upstream);
    // The version's own count: when it retires, it keeps the tunnel open until its drain bound.
    admitted.endpoint.tunnels.add(upstream);
    this.log.debug({ tenant: target.tenantDomain, app: target.name, requestId }, 'app upgrade forwarded');

    // Until the app sends its first byte (its 101, or a refusal), Tessera may still answer for it.
    let answered = false;
    const timeoutS = admitted.app.config.limits.requestTimeoutS;
    const timer = setTimeout(() => {
      upstream.destroy();
      this.#refuse(request, socket, timedOut(target.name, timeoutS));
    }, timeoutS * 1000);
    upstream.once('data', () => {
      answered = true;
      clearTimeout(timer);
    });
    upstream.on('error', () => {
      clearTimeout(timer);
      if (!answered && socket.writable) this.#refuse(request, socket, upstreamFailed(target.name));
      else socket.destroy();
    });
    upstream.on('close', () => {
      clearTimeout(timer);
      if (!answered && socket.writable) this.#refuse(request, socket, upstreamFailed(target.name));
      else socket.end();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      upstream.destroy();
    });
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    // Not `end`ed by the pipe: an app that closes before answering still gets its 502 written above.
    upstream.pipe(socket, { end: false });
    socket.pipe(upstream);
  }

  /**
   * Answers an upgrade that is not for a node app as the plain request it also is, on a connection that
   * closes afterwards (the parser has left the socket). Its body would not reach the handler: refused.
   */
  #passOn(request: IncomingMessage, socket: Duplex): void {
    const { headers } = request;
    const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
    if (hasBody || !(socket instanceof Socket)) {
      this.#refuse(request, socket, notFound());
      return;
    }
    const response = new ServerResponse(request);
    response.shouldKeepAlive = false;
    response.assignSocket(socket);
    response.once('finish', () => {
      response.detachSocket(socket);
      socket.end();
    });
    this.server.emit('request', request, response);
  }

  #refuse(request: IncomingMessage, socket: Duplex, answer: Answer): void {
    this.log.info({ url: request.url, status: answer.status, error: answer.code }, 'app upgrade refused');
    writeAnswer(socket, answer);
  }

  #track(socket: Duplex): void {
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
  }
}
