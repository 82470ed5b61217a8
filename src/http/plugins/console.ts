import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PACKAGE_ROOT } from '../../package-root.js';

/** Where `vite build --config console/vite.config.ts` puts the console (part of `npm run build`). */
export const CONSOLE_DIST = path.join(PACKAGE_ROOT, 'console', 'dist');

/**
 * The console holds an admin's session, so no other page may frame it (clickjacking), and its page may
 * load nothing but its own built files and call nothing but its own API: an injected script or style
 * from elsewhere does not run. Scripts and styles are allowed from the console's own assets folder only,
 * not from the whole origin, because tenants' web applications are served on this origin too (a script a
 * tenant uploaded must not run in the console). The built app has no inline script or style.
 */
export function consoleCsp(origin: string): string {
  const assets = `${origin}/console/assets/`;
  return [
    "default-src 'self'",
    `script-src ${assets}`,
    `style-src ${assets}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A request for a file (`/console/assets/app.js`), as opposed to a page of the app (`/console/users`). */
const FILE_LIKE = /\/[^/]+\.[a-z0-9]+$/i;

/**
 * The management console: a single-page app served at `/console/` from the package itself. Any path under
 * it that is not a file is one of the app's pages, so it gets `index.html` (the app routes by itself).
 */
export async function registerConsole(app: FastifyInstance, root: string = CONSOLE_DIST): Promise<void> {
  app.get('/console', { schema: { hide: true } }, (request, reply) =>
    securityHeaders(request, reply).redirect('/console/', 301),
  );
  await app.register(
    async (scope) => {
      // Every answer under /console/, the SPA fallback and 404s included.
      scope.addHook('onRequest', async (request, reply) => {
        securityHeaders(request, reply);
      });
      if (!existsSync(path.join(root, 'index.html'))) {
        scope.get('/*', { schema: { hide: true } }, (_request, reply) =>
          reply
            .status(503)
            .type('text/plain')
            .send('The console is not built: run `npm run build` in the Tessera package.\n'),
        );
        return;
      }
      await scope.register(fastifyStatic, {
        root,
        prefix: '/',
        wildcard: true,
        index: 'index.html',
        cacheControl: false,
        setHeaders(response, file) {
          // Vite names assets by their content hash; index.html must always be fetched again.
          response.setHeader(
            'cache-control',
            file.includes(`${path.sep}assets${path.sep}`)
              ? 'public, max-age=31536000, immutable'
              : 'no-cache',
          );
        },
      });
      scope.setNotFoundHandler((request, reply) => {
        const pathname = request.url.split('?')[0] ?? '';
        if (request.method !== 'GET' || FILE_LIKE.test(pathname)) {
          return reply
            .status(404)
            .send({ error: 'NOT_FOUND', message: `No route ${request.method} ${pathname}.` });
        }
        return reply.type('text/html').header('cache-control', 'no-cache').sendFile('index.html');
      });
    },
    { prefix: '/console' },
  );
}

function securityHeaders(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // The origin the browser asked for: a source with a path needs its scheme and host spelled out.
  const origin = `${request.protocol}://${request.host}`;
  // X-Frame-Options for browsers that predate CSP's frame-ancestors.
  return reply.header('content-security-policy', consoleCsp(origin)).header('x-frame-options', 'DENY');
}
