// The bench's app as a Node request listener (the form an Express app has). Deployed into Tessera as
// this file alone, and run by bare.mjs in-process as the reference. Paths are the ones the app sees.
import { busy, HELLO } from './work.mjs';

export default function handler(req, res) {
  const path = req.url.split('?', 1)[0];
  if (path === '/hello') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length });
    res.end(HELLO);
  } else if (path === '/cpu') {
    const body = `spun ${busy(1) > 0 ? 'ok' : 'no'} for ${req.headers['x-tessera-tenant'] ?? '-'}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else {
    res.writeHead(404, { 'content-length': 0 });
    res.end();
  }
}
