import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { homeLayout, SUPER_TENANT_DOMAIN, SUPER_TENANT_ID, webappsFolder } from '../../src/home/layout.js';
import { type Authenticator, webappsPlugin } from '../../src/http/plugins/webapps.js';
import { Deployer, type TenantDirectory } from '../../src/webapps/deployer.js';
import { scratchFolder } from '../helpers/databases.js';
import { buildZip, type CapturedLog, captureLog } from './helpers.js';

const ACME = 3;
const GLOBEX = 4;
const INACTIVE = 5;
const PASSWORD = 's3cret:with-colon';

const DOMAINS = new Map<number, string>([
  [SUPER_TENANT_ID, SUPER_TENANT_DOMAIN],
  [ACME, 'acme.com'],
  [GLOBEX, 'globex.com'],
  [INACTIVE, 'sleepy.org'],
]);

const tenants: TenantDirectory = {
  async domainOf(tenantId) {
    return DOMAINS.get(tenantId);
  },
  async idOf(domain) {
    if (domain === 'sleepy.org') return undefined; // inactive
    return [...DOMAINS].find(([, d]) => d === domain)?.[0];
  },
};

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

describe('webapps plugin', () => {
  const scratch = scratchFolder('webapps-plugin');
  const layout = homeLayout(scratch.dir);
  const authCalls: Array<[string, string]> = [];
  const authenticate: Authenticator = async (domain, username, password) => {
    authCalls.push([domain, username]);
    const known =
      (domain === 'acme.com' && username === 'SECONDARY/alice') ||
      (domain === SUPER_TENANT_DOMAIN && username === 'admin');
    return known && password === PASSWORD ? { username, roles: ['everyone'] } : undefined;
  };
  let log: CapturedLog;
  let deployer: Deployer;
  let app: FastifyInstance;

  function write(file: string, content: string | Buffer): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }

  beforeAll(async () => {
    const superApps = webappsFolder(layout, SUPER_TENANT_ID);
    const acmeApps = webappsFolder(layout, ACME);
    write(path.join(superApps, 'hello', 'index.html'), '<h1>hello</h1>');
    write(path.join(superApps, 'hello', 'css', 'site.css'), 'body { color: red }');
    write(path.join(superApps, 'hello', 'js', 'app.js'), 'console.log(1)');
    write(path.join(superApps, 'hello', 'img', 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    write(path.join(superApps, 'hello', 'data.bin'), Buffer.from([0, 1, 2]));
    write(path.join(superApps, 'hello', 'docs', 'index.html'), 'docs index');
    write(path.join(superApps, 'hello', 'empty', '.keep'), '');
    write(path.join(superApps, 'hello', 'tessera-app.toml'), 'login = false');
    write(path.join(scratch.dir, 'outside.txt'), 'SECRET OUTSIDE');
    symlinkSync(path.join(scratch.dir, 'outside.txt'), path.join(superApps, 'hello', 'leak.txt'));
    symlinkSync(scratch.dir, path.join(superApps, 'hello', 'leakdir'));
    write(path.join(superApps, 'admin', 'index.html'), 'super admin app');
    write(path.join(superApps, 'admin', 'tessera-app.toml'), 'login = true');
    write(path.join(acmeApps, 'app', 'index.html'), 'acme app');
    write(path.join(acmeApps, 'secure', 'index.html'), 'acme secure');
    write(path.join(acmeApps, 'secure', 'tessera-app.toml'), 'login = true');
    write(
      path.join(acmeApps, 'docs.zip'),
      await buildZip({ 'index.html': 'zipped docs', 'a b.txt': 'spaced' }),
    );
    write(path.join(acmeApps, 'broken.zip'), Buffer.from('PK\u0003\u0004 definitely truncated'));
    write(path.join(webappsFolder(layout, INACTIVE), 'app', 'index.html'), 'inactive');

    log = captureLog();
    deployer = new Deployer({ layout, logger: log.logger, hotDeploy: false });
    await deployer.start([SUPER_TENANT_ID, ACME, GLOBEX, INACTIVE]);

    app = Fastify();
    // Stand-ins for the routes other plugins register: static routes must keep winning over /:app/*.
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/api/v1/tenants', async () => ({ tenants: [] }));
    app.get('/console/*', async () => 'console');
    await app.register(webappsPlugin, { deployer, tenants, authenticate });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await deployer?.close();
    scratch.remove();
  });

  it('serves super tenant apps at /{app}/ and tenant apps at /t/{domain}/{app}/', async () => {
    const hello = await app.inject({ url: '/hello/' });
    expect(hello.statusCode).toBe(200);
    expect(hello.body).toBe('<h1>hello</h1>');
    expect(hello.headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await app.inject({ url: '/hello/index.html' })).body).toBe('<h1>hello</h1>');
    expect((await app.inject({ url: '/t/acme.com/app/' })).body).toBe('acme app');
    expect((await app.inject({ url: '/t/acme.com/docs/' })).body).toBe('zipped docs');
    expect((await app.inject({ url: '/t/acme.com/docs/a%20b.txt' })).body).toBe('spaced');
  });

  it('keeps tenants apart and answers 404 for unknown tenants, apps and files', async () => {
    for (const url of [
      '/t/globex.com/app/', // the app belongs to acme.com
      '/app/', // ... and not to the super tenant
      '/t/acme.com/hello/', // a super tenant app is not a tenant's
      '/t/nowhere.org/app/',
      '/t/sleepy.org/app/', // inactive tenant
      '/nope/',
      '/hello/nope.html',
      '/hello/empty/', // a folder without index.html: no listing
      '/t/acme.com/broken/', // refused zip
    ]) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
    }
  });

  it('redirects an app or folder named without its trailing slash', async () => {
    const tenantApp = await app.inject({ url: '/t/acme.com/app' });
    expect(tenantApp.statusCode).toBe(301);
    expect(tenantApp.headers.location).toBe('/t/acme.com/app/');
    const superApp = await app.inject({ url: '/hello?lang=en' });
    expect(superApp.headers.location).toBe('/hello/?lang=en');
    const folder = await app.inject({ url: '/hello/docs' });
    expect(folder.statusCode).toBe(301);
    expect(folder.headers.location).toBe('/hello/docs/');
    expect((await app.inject({ url: '/hello/docs/' })).body).toBe('docs index');
    expect((await app.inject({ url: '/nope' })).statusCode).toBe(404);
  });

  it('sends content types by extension', async () => {
    const types: Record<string, string> = {
      '/hello/css/site.css': 'text/css; charset=utf-8',
      '/hello/js/app.js': 'text/javascript; charset=utf-8',
      '/hello/img/logo.png': 'image/png',
      '/hello/data.bin': 'application/octet-stream',
    };
    for (const [url, type] of Object.entries(types)) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toBe(type);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
    // Sandboxed, without allow-same-origin: the app's pages cannot read the console's origin.
    const page = await app.inject({ url: '/t/acme.com/app/' });
    expect(page.headers['content-security-policy']).toBe(
      'sandbox allow-scripts allow-forms allow-popups allow-downloads',
    );
    expect(page.headers['content-security-policy']).not.toContain('allow-same-origin');
    expect((await app.inject({ url: '/hello/' })).headers['content-security-policy']).toMatch(/^sandbox /);
    expect((await app.inject({ url: '/hello/img/logo.png' })).rawPayload).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    );
  });

  it('answers HEAD with the headers and no body', async () => {
    const head = await app.inject({ method: 'HEAD', url: '/hello/css/site.css' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(head.headers['content-length']).toBe(String('body { color: red }'.length));
    expect(head.body).toBe('');
    expect((await app.inject({ method: 'HEAD', url: '/hello/nope' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'HEAD', url: '/t/acme.com/app' })).statusCode).toBe(301);
  });

  it('never serves tessera-app.toml or files outside the app', async () => {
    for (const url of [
      '/hello/tessera-app.toml',
      '/hello/leak.txt', // symlink to a file outside
      '/hello/leakdir/outside.txt', // symlink to a folder outside
      '/hello/%2e%2e/%2e%2e/outside.txt',
      '/hello/..%2f..%2foutside.txt',
      '/hello/..%5coutside.txt',
    ]) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.body, url).not.toContain('SECRET OUTSIDE');
      expect(response.body, url).not.toContain('login');
    }
  });

  it('refuses traversal sent raw over the wire, where no client normalised it', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const rawGet = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => {
          socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
        });
        const chunks: Buffer[] = [];
        socket.on('data', (chunk) => chunks.push(chunk));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.on('error', reject);
      });
    for (const target of [
      '/hello/../../outside.txt',
      '/hello/../../../../../../etc/passwd',
      '/hello/%2e%2e/%2e%2e/outside.txt',
      '/hello/%2E%2E/%2E%2E/etc/passwd',
      '/hello/..%2f..%2f..%2fetc/passwd',
      '/t/acme.com/app/../../../outside.txt',
      '/hello/./../outside.txt',
    ]) {
      const response = await rawGet(target);
      expect(response, target).toMatch(/^HTTP\/1\.1 40[04]/);
      expect(response, target).not.toContain('SECRET OUTSIDE');
      expect(response, target).not.toContain('root:');
    }
    expect(await rawGet('/hello/css/site.css')).toMatch(/^HTTP\/1\.1 200[\s\S]*color: red/);
  });

  it('asks for Basic credentials for a login app and checks them in the app tenant', async () => {
    authCalls.length = 0;
    const anonymous = await app.inject({ url: '/t/acme.com/secure/' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Basic realm="secure"');
    expect(anonymous.body).not.toContain('acme secure');

    const wrong = await app.inject({
      url: '/t/acme.com/secure/',
      headers: { authorization: basic('SECONDARY/alice', 'wrong') },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="secure"');

    const garbage = await app.inject({ url: '/t/acme.com/secure/', headers: { authorization: 'Basic !!!' } });
    expect(garbage.statusCode).toBe(401);

    const right = await app.inject({
      url: '/t/acme.com/secure/',
      headers: { authorization: basic('SECONDARY/alice', PASSWORD) },
    });
    expect(right.statusCode).toBe(200);
    expect(right.body).toBe('acme secure');
    expect(right.headers['cache-control']).toBe('private');
    expect(authCalls).toEqual([
      ['acme.com', 'SECONDARY/alice'],
      ['acme.com', 'SECONDARY/alice'],
    ]);

    // Files of a login app are protected too, not only its index.
    expect((await app.inject({ url: '/t/acme.com/secure/index.html' })).statusCode).toBe(401);
    // A non-login app of the same tenant needs nothing.
    expect((await app.inject({ url: '/t/acme.com/app/' })).statusCode).toBe(200);
  });

  it('checks super tenant login apps against the super tenant', async () => {
    authCalls.length = 0;
    expect((await app.inject({ url: '/admin/' })).statusCode).toBe(401);
    const ok = await app.inject({ url: '/admin/', headers: { authorization: basic('admin', PASSWORD) } });
    expect(ok.statusCode).toBe(200);
    expect(authCalls).toEqual([[SUPER_TENANT_DOMAIN, 'admin']]);
    expect(log.text()).not.toContain(PASSWORD);
  });

  it('leaves static routes registered by others alone', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/api/v1/tenants' })).json()).toEqual({ tenants: [] });
    expect((await app.inject({ url: '/console/users' })).body).toBe('console');
    // Reserved names that no route claims are simply not found.
    expect((await app.inject({ url: '/api/' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/t/' })).statusCode).toBe(404);
  });

  it('keeps serving other apps when a zip is refused', async () => {
    expect(log.lines).toContainEqual(
      expect.objectContaining({ app: 'broken', refusal: 'malformed', level: 40 }),
    );
    expect((await app.inject({ url: '/t/acme.com/docs/' })).statusCode).toBe(200);
  });
});
