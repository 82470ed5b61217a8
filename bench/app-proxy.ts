/**
 * The cost of Tessera's HTTP front for node apps (src/http/plugins/app-proxy.ts): wrk against a hello-world
 * app's own server, then against the front forwarding to the same server over its Unix socket (Fastify,
 * the webapps plugin's lookups, the front's decision and header rewriting, the undici pool).
 * Usage: npx vite-node bench/app-proxy.ts -- [--duration 10] [--connections 16,64] [--rounds 2]
 * The app runs in a child process (as it will), the front in this one, wrk in its own: on a 2-core machine
 * the three share the cores, as the front and the app will.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import pino from 'pino';
import { Pool } from 'undici';
import { homeLayout, SUPER_TENANT_ID, webappsFolder } from '../src/home/layout.js';
import { webappsPlugin } from '../src/http/plugins/webapps.js';
import { Deployer } from '../src/webapps/deployer.js';
import { type AppConfig, DEFAULT_APP_LIMITS, type RunningApp } from '../src/webapps/runtime/contract.js';
import { OpenTunnels } from '../src/webapps/runtime/open-tunnels.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? (args[at + 1] ?? fallback) : fallback;
};
const duration = Number(flag('duration', '10'));
const connections = flag('connections', '16,64').split(',').map(Number);
const rounds = Number(flag('rounds', '2'));

const ACME = 3;
const KEY = 'bench-key';
const CONFIG: AppConfig = {
  runtime: 'node',
  entry: 'server.js',
  login: false,
  env: {},
  limits: { ...DEFAULT_APP_LIMITS, maxConcurrent: 1024 },
};

const APP_SOURCE = `
const http = require('node:http');
const HELLO = Buffer.from('hello world\\n');
const handler = (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length });
  res.end(HELLO);
};
const [socketPath, port] = process.argv.slice(1);
let ready = 0;
const up = () => { if (++ready === 2) process.send({ ready: true }); };
http.createServer({ keepAliveTimeout: 60000 }, handler).listen(socketPath, up);
http.createServer({ keepAliveTimeout: 60000 }, handler).listen(Number(port), '127.0.0.1', up);
process.on('disconnect', () => process.exit(0));
`;

/** Run asynchronously: the front runs in this process's event loop. */
async function wrk(url: string, conns: number) {
  const { stdout: out } = await promisify(execFile)('wrk', [
    '-t2',
    `-c${conns}`,
    `-d${duration}s`,
    '--latency',
    url,
  ]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = /\s50%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? '0';
  return { rps, p50, p99, errors: non2xx };
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-proxy-'));
  let child: ChildProcess | undefined;
  try {
    const socketPath = path.join(scratch, 'app.sock');
    const appPort = 20000 + Math.floor(Math.random() * 20000);
    child = spawn(process.execPath, ['-e', APP_SOURCE, socketPath, String(appPort)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await once(child, 'message');

    const layout = homeLayout(path.join(scratch, 'home'));
    const folder = path.join(webappsFolder(layout, ACME), 'shop');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'server.js'), '// run by the child above');
    writeFileSync(path.join(folder, 'tessera-app.toml'), 'runtime = "node"\nentry = "server.js"\n');
    const deployer = new Deployer({ layout, logger: pino({ level: 'silent' }), hotDeploy: false });
    await deployer.start([SUPER_TENANT_ID, ACME]);
    const endpoint = {
      socketPath,
      key: KEY,
      pool: new Pool('http://localhost', { socketPath }),
      tunnels: new OpenTunnels(),
    };
    const shop: RunningApp = {
      tenantId: ACME,
      tenantDomain: 'acme.com',
      name: 'shop',
      config: CONFIG,
      status: () => ({ state: 'running', restarts: 0, since: new Date() }),
      endpoint: () => endpoint,
      retryAfterS: () => 1,
      settled: async () => ({ state: 'running', restarts: 0, since: new Date() }),
    };
    const front = Fastify({ forceCloseConnections: true });
    await front.register(webappsPlugin, {
      deployer,
      tenants: {
        domainOf: async (id) => (id === ACME ? 'acme.com' : undefined),
        idOf: async (domain) => (domain === 'acme.com' ? ACME : undefined),
      },
      authenticate: async () => undefined,
      nodeApps: {
        apps: { get: (tenantId, name) => (tenantId === ACME && name === 'shop' ? shop : undefined) },
      },
    });
    const origin = await front.listen({ port: 0, host: '127.0.0.1' });
    // The floor under the front: Fastify and the same pool, forwarding with no decision at all.
    const minimal = Fastify();
    minimal.get('/*', async (_request, reply) => {
      const upstream = await endpoint.pool.request({
        path: '/hello',
        method: 'GET',
        headers: { 'x-key': KEY },
      });
      const { 'content-type': type, 'content-length': length } = upstream.headers;
      return reply
        .code(upstream.statusCode)
        .headers({ 'content-type': type, 'content-length': length })
        .send(upstream.body);
    });
    const minimalOrigin = await minimal.listen({ port: 0, host: '127.0.0.1' });

    console.log(`wrk -t2, ${duration} s per run, load average at start: ${os.loadavg()[0]?.toFixed(2)}`);
    console.log(
      '| conns | round | app alone req/s | minimal forward req/s | front req/s | front / app | front / minimal ' +
        '| p50 app / minimal / front | p99 app / minimal / front | non-2xx |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const conns of connections) {
      for (let round = 1; round <= rounds; round++) {
        const bare = await wrk(`http://127.0.0.1:${appPort}/hello`, conns);
        const floor = await wrk(`${minimalOrigin}/hello`, conns);
        const fronted = await wrk(`${origin}/t/acme.com/shop/hello`, conns);
        console.log(
          `| ${conns} | ${round} | ${bare.rps.toFixed(0)} | ${floor.rps.toFixed(0)} | ${fronted.rps.toFixed(0)} | ` +
            `${(fronted.rps / bare.rps).toFixed(2)} | ${(fronted.rps / floor.rps).toFixed(2)} | ` +
            `${bare.p50} / ${floor.p50} / ${fronted.p50} | ${bare.p99} / ${floor.p99} / ${fronted.p99} | ` +
            `${bare.errors} / ${floor.errors} / ${fronted.errors} |`,
        );
      }
    }
    await front.close();
    await minimal.close();
    await endpoint.pool.close();
    await deployer.close();
  } finally {
    child?.kill();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
