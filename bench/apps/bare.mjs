// The reference: bare node:http with the bench's handler in-process, `listener` or `fetch` form. The fetch
// form goes through the same adapter the app host uses (built into dist/ by `npm run build`), so the two
// sides differ only by Tessera's hop. Prints {"port"} once listening.
import { createServer } from 'node:http';
import fetchApp from './app-fetch.mjs';
import listener from './app-listener.mjs';

const form = process.argv[2];
let handler = listener;
if (form === 'fetch') {
  const { fetchListener } = await import('../../dist/webapps/runtime/app-host/fetch-listener.js');
  handler = fetchListener(fetchApp, {});
} else if (form !== 'listener') {
  throw new Error(`usage: bare.mjs listener|fetch (got ${form})`);
}
const server = createServer(handler);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
