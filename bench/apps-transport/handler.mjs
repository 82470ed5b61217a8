// The app under test, as a Node request listener (the form an Express app has). Every configuration runs
// this same function: in-process for the bare reference, in the child process behind each transport.
// Paths are the ones the app sees, below its mount.

const HELLO = Buffer.from('hello world\n');
const CHUNK = Buffer.alloc(64 * 1024, 120);
const MIB_CHUNKS = 16; // 16 x 64 KiB = 1 MiB

/** Spins for about `ms` of CPU, as a handler that renders or computes something would. */
function busy(ms) {
  const until = performance.now() + ms;
  let x = 0;
  while (performance.now() < until) x++;
  return x;
}

/** @param {import("node:http").IncomingMessage} req @param {import("node:http").ServerResponse} res */
export function handler(req, res) {
  const path = req.url.split('?', 1)[0];
  if (path === '/hello') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length });
    res.end(HELLO);
  } else if (path === '/cpu') {
    const spins = busy(1);
    const body = `spun ${spins > 0 ? 'ok' : 'no'} for ${req.headers['x-tessera-tenant'] ?? '-'}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else if (path === '/mib') {
    // Streamed without a length (chunked), honouring back-pressure, like a generated download.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const pump = () => {
      while (sent < MIB_CHUNKS) {
        sent++;
        if (sent === MIB_CHUNKS) return res.end(CHUNK);
        if (!res.write(CHUNK)) return res.once('drain', pump);
      }
    };
    pump();
  } else {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
  }
}
