import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { requestContext } from './request-context.js';

export interface GateSettings {
  readonly key: string;
  readonly keyHeader: string;
  readonly requestIdHeader: string;
}

/**
 * Puts the key check and the request's log context in front of every `request` and `upgrade` listener of
 * `server`, present or added later, by wrapping `emit`: the app's own listeners (an Express app, `ws`)
 * stay as they are and never see a request without the key, nor the key itself.
 */
export function gateServer(server: Server, settings: GateSettings): void {
  const expected = Buffer.from(settings.key);
  const keyOk = (req: IncomingMessage): boolean => {
    const given = req.headers[settings.keyHeader];
    if (typeof given !== 'string') return false;
    const buffer = Buffer.from(given);
    // The key's length is no secret (64 hex characters); its content is compared in constant time.
    return buffer.length === expected.length && timingSafeEqual(buffer, expected);
  };
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== 'request' && event !== 'upgrade') return emit(event, ...args);
    const req = args[0] as IncomingMessage;
    if (!keyOk(req)) {
      if (event === 'request') refuse(args[1] as ServerResponse);
      else refuseUpgrade(args[1] as Duplex);
      return true;
    }
    stripKey(req, settings.keyHeader);
    const id = req.headers[settings.requestIdHeader];
    return requestContext.run({ requestId: typeof id === 'string' ? id : undefined }, () =>
      emit(event, ...args),
    );
  }) as Server['emit'];
}

function refuse(res: ServerResponse): void {
  res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end('Forbidden\n');
}

function refuseUpgrade(socket: Duplex): void {
  socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}

/** Removes the key from both views Node gives of the headers. */
function stripKey(req: IncomingMessage, header: string): void {
  delete req.headers[header];
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (raw[i]?.toLowerCase() === header) raw.splice(i, 2);
  }
}
