import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { consoleCsp, registerConsole } from '../../src/http/plugins/console.js';
import { scratchFolder } from '../helpers/databases.js';

const folders: { remove: () => void }[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) folder.remove();
});

/** A stand-in for console/dist: an index page and one hashed asset. */
function builtConsole(): string {
  const folder = scratchFolder('console-dist');
  folders.push(folder);
  mkdirSync(path.join(folder.dir, 'assets'));
  writeFileSync(path.join(folder.dir, 'index.html'), '<div id="root"></div>');
  writeFileSync(path.join(folder.dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  return folder.dir;
}

describe('the console plugin', () => {
  it('serves the app at /console/, its pages from index.html and its assets cached for good', async () => {
    const app = Fastify();
    await registerConsole(app, builtConsole());
    const redirect = await app.inject('/console');
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers.location).toBe('/console/');

    const index = await app.inject('/console/');
    expect(index.body).toBe('<div id="root"></div>');
    expect(index.headers['cache-control']).toBe('no-cache');
    const page = await app.inject('/console/users?tenant=acme.com');
    expect(page.statusCode).toBe(200);
    expect(page.body).toBe('<div id="root"></div>');

    const asset = await app.inject('/console/assets/index-abc123.js');
    expect(asset.body).toBe('console.log(1)');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await app.inject('/console/assets/gone.js')).statusCode).toBe(404);
    expect((await app.inject('/console/../package.json')).statusCode).not.toBe(200);

    // No page may frame the console; it calls nothing but its own origin, and runs scripts and styles from
    // its own assets only (tenants' apps share the origin).
    const csp = consoleCsp('http://localhost:80');
    for (const reply of [redirect, index, page, asset, await app.inject('/console/assets/gone.js')]) {
      expect(reply.headers['content-security-policy']).toBe(csp);
      expect(reply.headers['x-frame-options']).toBe('DENY');
    }
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain('script-src http://localhost:80/console/assets/;');
    await app.close();
  });

  it('says how to build the console when it is not built', async () => {
    const app = Fastify();
    const empty = scratchFolder('console-empty');
    folders.push(empty);
    await registerConsole(app, empty.dir);
    const reply = await app.inject('/console/');
    expect(reply.statusCode).toBe(503);
    expect(reply.body).toContain('npm run build');
    await app.close();
  });
});
