// The bench's app as a fetch handler (workerd, Deno, Bun and Hono's form); same paths and answers as
// app-listener.mjs.
import { busy, HELLO } from './work.mjs';

export default {
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === '/hello') return new Response(HELLO, { headers: { 'content-type': 'text/plain' } });
    if (path === '/cpu') {
      const tenant = request.headers.get('x-tessera-tenant') ?? '-';
      return new Response(`spun ${busy(1) > 0 ? 'ok' : 'no'} for ${tenant}\n`, {
        headers: { 'content-type': 'text/plain' },
      });
    }
    return new Response(null, { status: 404 });
  },
};
