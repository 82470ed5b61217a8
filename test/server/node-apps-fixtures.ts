/** The apps the end-to-end tests deploy, as their authors would write them. */

/**
 * A fetch handler (ESM) that shows what it received: headers, path, environment; writes and reads its data
 * folder; echoes and digests bodies; streams server-sent events; logs a line naming the request.
 */
export const FETCH_APP = `
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const waiting = [];
const note = () => path.join(process.env.TESSERA_DATA_DIR, 'note.txt');

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/whoami':
        return Response.json({
          path: url.pathname,
          search: url.search,
          headers: Object.fromEntries(request.headers),
        });
      case '/env':
        return Response.json({
          greeting: process.env.GREETING,
          fromEnvArgument: env?.GREETING,
          tenant: process.env.TESSERA_TENANT,
          app: process.env.TESSERA_APP,
          version: process.env.TESSERA_APP_VERSION,
          dataDir: process.env.TESSERA_DATA_DIR,
          pid: process.pid,
        });
      case '/data':
        if (request.method === 'POST') {
          await writeFile(note(), await request.text());
          return new Response('written', { status: 201 });
        }
        return new Response(await readFile(note(), 'utf8'));
      case '/echo':
        return new Response(request.body, { headers: { 'content-type': 'application/octet-stream' } });
      case '/digest': {
        const hash = createHash('sha256');
        let bytes = 0;
        for await (const chunk of request.body) {
          hash.update(chunk);
          bytes += chunk.length;
        }
        return Response.json({ bytes, sha256: hash.digest('hex') });
      }
      case '/events': {
        const encoder = new TextEncoder();
        const stream = new ReadableStream({
          start(controller) {
            controller.enqueue(encoder.encode('event: first\\ndata: one\\n\\n'));
            // The second event waits for /release: the client must have read the first one before.
            waiting.push(() => {
              controller.enqueue(encoder.encode('event: second\\ndata: two\\n\\n'));
              controller.close();
            });
          },
        });
        return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
      }
      case '/release': {
        const count = waiting.length;
        for (const send of waiting.splice(0)) send();
        return new Response(String(count));
      }
      case '/page':
        return new Response('a page', { headers: { 'x-app-method': request.method } });
      case '/go':
        return new Response(null, { status: 302, headers: { location: '/landing?from=go' } });
      case '/log':
        console.log('log-marker ' + url.searchParams.get('m'));
        return Response.json({ requestId: request.headers.get('x-request-id') });
      default:
        return new Response('no such page', { status: 404 });
    }
  },
};
`;

export const FETCH_APP_TOML = `
entry = "server.mjs"
login = true
[env]
GREETING = "hello from the toml"
[limits]
max_body_mb = 8
`;

/** An Express 5 app: a JSON POST route, a route param, Express's own 404. */
export const EXPRESS_APP = `
import express from 'express';

const app = express();
app.use(express.json());
app.post('/items', (req, res) => {
  res.status(201).json({ received: req.body, path: req.path, prefix: req.get('x-forwarded-prefix') });
});
app.get('/items/:id', (req, res) => {
  res.json({ id: req.params.id, path: req.path, query: req.query });
});
export default app;
`;

/** An unstarted http.Server with ws's WebSocketServer attached: an echo that greets the signed-in user. */
export const WS_APP = `
import http from 'node:http';
import { WebSocketServer } from 'ws';

const server = http.createServer((req, res) => res.end('plain http'));
const sockets = new WebSocketServer({ server });
sockets.on('connection', (socket, req) => {
  socket.send('hello ' + req.headers['x-tessera-user'] + ' at ' + req.url);
  socket.on('message', (message) => socket.send('echo:' + message));
});
export default server;
`;

/** A small fetch handler, for the apps deployed many at a time. */
export function smallApp(label: string): Record<string, string> {
  return {
    'tessera-app.toml': 'entry = "server.mjs"\n[limits]\nmemory_mb = 64',
    'server.mjs': `export default { fetch: (request) => Response.json({ label: ${JSON.stringify(label)}, pid: process.pid }) };`,
  };
}
