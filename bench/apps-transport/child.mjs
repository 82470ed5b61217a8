// The app process: the same handler behind each transport's shim. Usage: node child.mjs MODE SOCKET_PATH
//   http   (b, c): a node:http server listening on the Unix socket; Tessera connects as an HTTP client.
//   socket (d):    receives client sockets from Tessera over IPC and parses later requests itself; before
//                  each later request runs, it asks Tessera over IPC and applies the answer.
//   frames (e):    one Unix socket carrying frames.mjs streams; each stream is fed to a node:http server
//                  as an injected connection, so every handler form (and upgrades) works unchanged.
import http from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { DATA, END, FrameWriter, RESET, readFrames } from './frames.mjs';
import { handler } from './handler.mjs';

const [mode, socketPath] = process.argv.slice(2);
// The app process never outlives Tessera's front (it would keep its socket and memory).
process.on('disconnect', () => process.exit(0));

if (mode === 'http') {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  server.listen(socketPath, () => process.send?.({ ready: true }));
} else if (mode === 'socket') {
  serveHandedSockets();
} else if (mode === 'frames') {
  serveFrames();
} else {
  throw new Error(`unknown mode ${mode}`);
}

function serveHandedSockets() {
  let nextAsk = 1;
  /** @type {Map<number, (answer: any) => void>} */
  const asks = new Map();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    // The first request on a handed socket was decided by Tessera before the hand-over.
    if (req.socket.firstRequestDecided) {
      req.socket.firstRequestDecided = false;
      return runDecided(req, res, 0);
    }
    const id = nextAsk++;
    asks.set(id, (answer) => {
      if (answer.status !== 0) {
        res.writeHead(answer.status, { 'content-length': 0 });
        return res.end();
      }
      req.url = answer.path;
      req.headers = answer.headers;
      runDecided(req, res, id);
    });
    process.send({ ask: id, url: req.url, headers: req.headers, remoteAddress: req.socket.remoteAddress });
  });
  /** Runs the app and tells Tessera when the response is done, so it can count requests in flight. */
  function runDecided(req, res, id) {
    if (id !== 0) res.once('finish', () => process.send({ done: id }));
    handler(req, res);
  }
  process.on('message', (message, socket) => {
    if (message.answer !== undefined) {
      const resolve = asks.get(message.answer);
      asks.delete(message.answer);
      return resolve?.(message);
    }
    if (message.head && socket) {
      socket.firstRequestDecided = true;
      server.emit('connection', socket);
      socket.emit('data', Buffer.from(message.head, 'latin1'));
      socket.resume();
    }
  });
  process.send({ ready: true });
}

function serveFrames() {
  // Virtual connections live as long as Tessera keeps them (it closes them with RESET): no idle timeout.
  const server = http.createServer({ keepAliveTimeout: 0 }, handler);
  const listener = net.createServer((link) => {
    link.on('error', () => process.exit(0)); // Tessera went away
    link.setMaxListeners(0); // one drain listener per stream waiting on back-pressure
    const writer = new FrameWriter(link);
    /** @type {Map<number, Duplex>} */
    const streams = new Map();
    readFrames(link, (type, id, payload) => {
      if (type === DATA) {
        let stream = streams.get(id);
        if (!stream) {
          stream = virtualConnection(id, writer, () => streams.delete(id));
          streams.set(id, stream);
          server.emit('connection', stream);
        }
        stream.push(Buffer.from(payload));
      } else if (type === RESET) {
        streams.get(id)?.destroy();
        streams.delete(id);
      }
    });
  });
  listener.listen(socketPath, () => process.send?.({ ready: true }));
}

const LINK_BUFFER = 1024 * 1024;

/** A Duplex that node:http takes for a connection: what it writes goes back to Tessera as DATA frames. */
function virtualConnection(id, writer, forget) {
  let waitingDrain = null;
  const stream = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      // Let up to LINK_BUFFER bytes queue on the shared link before pushing back on the app, as the kernel
      // buffer of a socket per request would, rather than a wait for 'drain' after every 64 KiB chunk.
      if (writer.write(DATA, id, chunk) || writer.socket.writableLength < LINK_BUFFER) return callback();
      waitingDrain = callback;
      writer.socket.once('drain', () => {
        const resume = waitingDrain;
        waitingDrain = null;
        resume?.();
      });
    },
    final(callback) {
      writer.write(END, id);
      forget();
      callback();
    },
  });
  stream.remoteAddress = '127.0.0.1';
  stream.on('error', () => writer.write(RESET, id));
  return stream;
}
