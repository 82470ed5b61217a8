/**
 * bench/cluster: logins per second (POST /api/v1/authenticate) against one node, then against three nodes
 * on the same PostgreSQL database (requests spread round robin), with the shared cache in Redis.
 * Run: npm run bench:cluster [-- --seconds 10 --concurrency 16 --users 50 --redis redis://127.0.0.1:6379]
 * (`--redis none` runs the nodes without Redis). Needs dist/ (npm run build).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterKeyPrefix } from '../src/cache/cluster-cache.js';
import { defaultConfigText } from '../src/config/schema.js';
import { createDatabase, dropDatabase } from '../src/db/connection.js';
import { redactDatabaseUrl } from '../src/db/url.js';
import { deleteKeys } from '../test/cache/redis.js';
import { freePort } from '../test/helpers/ports.js';
import { BENCH_SERVERS, benchArgs, CLI } from './options.js';

const args = benchArgs();
const SECONDS = Number(args.get('seconds') ?? 10);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);
const USERS = Number(args.get('users') ?? 50);
const REDIS = args.get('redis') ?? 'redis://127.0.0.1:6379';
const NODES = 3;
const ADMIN_PASSWORD = 'bench-admin-pw-1';
const PASSWORD = 'bench-password-1';
const TENANT = 'bench.example';

interface Node {
  url: string;
  child: ChildProcess;
}

interface Run {
  operations: number;
  seconds: number;
  latencies: number[];
}

function writeHome(home: string, databaseUrl: string): void {
  mkdirSync(path.join(home, 'conf'), { recursive: true });
  let text = defaultConfigText()
    .replace(/^url = .*$/m, `url = "${databaseUrl}"`)
    .replace('level = "info"', 'level = "warn"');
  if (REDIS !== 'none') text = text.replace('[cache]\n', `[cache]\nredis = "${REDIS}"\n`);
  writeFileSync(path.join(home, 'conf', 'tessera.toml'), text);
}

async function startNode(home: string): Promise<Node> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'start', '--home', home], {
    env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: ADMIN_PASSWORD },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node on ${home} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, child };
    } catch {
      if (Date.now() > deadline) throw new Error(`node on ${home} did not answer`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function post(url: string, body: unknown, as?: [string, string]): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (as) headers.authorization = `Basic ${Buffer.from(as.join(':')).toString('base64')}`;
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function seed(node: Node): Promise<void> {
  const must = async (response: Promise<Response>, what: string) => {
    const reply = await response;
    if (reply.status !== 201) throw new Error(`${what}: ${reply.status} ${await reply.text()}`);
  };
  await must(
    post(`${node.url}/api/v1/tenants`, { domain: TENANT, adminPassword: ADMIN_PASSWORD }, [
      'admin',
      ADMIN_PASSWORD,
    ]),
    'tenant',
  );
  const admin: [string, string] = [`admin@${TENANT}`, ADMIN_PASSWORD];
  await must(post(`${node.url}/api/v1/tenants/${TENANT}/roles`, { name: 'users' }, admin), 'role');
  for (let i = 0; i < USERS; i++) {
    await must(
      post(
        `${node.url}/api/v1/tenants/${TENANT}/users`,
        { username: `user${i}`, password: PASSWORD, roles: ['users'] },
        admin,
      ),
      `user${i}`,
    );
  }
}

/** Logins for SECONDS at CONCURRENCY, request i going to node i mod the count. */
async function measure(nodes: readonly Node[]): Promise<Run> {
  const login = async (i: number) => {
    const node = nodes[i % nodes.length] as Node;
    const response = await post(`${node.url}/api/v1/authenticate`, {
      username: `user${i % USERS}@${TENANT}`,
      password: PASSWORD,
    });
    if (response.status !== 200) throw new Error(`authenticate on ${node.url}: ${response.status}`);
    await response.arrayBuffer();
  };
  // Warm-up: JIT, pools and the cache settle before the clock starts.
  await Promise.all(Array.from({ length: CONCURRENCY * nodes.length }, (_, i) => login(i)));
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await login(next++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { operations: latencies.length, seconds, latencies: latencies.sort((a, b) => a - b) };
}

const rate = (run: Run) => run.operations / run.seconds;
const pct = (run: Run, p: number) =>
  (run.latencies[Math.floor((run.latencies.length - 1) * p)] ?? 0).toFixed(1);

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-cluster-'));
  const databaseUrl = `${BENCH_SERVERS.postgres}/tessera_bench_cluster_${randomBytes(4).toString('hex')}`;
  await createDatabase(databaseUrl, root);
  const nodes: Node[] = [];
  try {
    const homes = Array.from({ length: NODES }, (_, i) => path.join(root, `node${i + 1}`));
    for (const home of homes) writeHome(home, databaseUrl);
    // The first start creates the schema; the others join it.
    nodes.push(await startNode(homes[0] as string));
    await seed(nodes[0] as Node);
    nodes.push(...(await Promise.all(homes.slice(1).map((home) => startNode(home)))));

    process.stdout.write(
      `bench/cluster: ${SECONDS} s per run, concurrency ${CONCURRENCY}, ${USERS} users, ` +
        `${os.cpus().length} cores, PostgreSQL, cache ${REDIS === 'none' ? 'in-process' : 'Redis'}\n`,
    );
    const one = await measure(nodes.slice(0, 1));
    const three = await measure(nodes);
    const row = (label: string, run: Run) =>
      `${label.padEnd(22)} ${rate(run).toFixed(1).padStart(10)} ${pct(run, 0.5).padStart(9)} ${pct(run, 0.99).padStart(9)}\n`;
    process.stdout.write(
      `${'logins'.padEnd(22)} ${'per s'.padStart(10)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}\n`,
    );
    process.stdout.write(row('1 node', one));
    process.stdout.write(row(`${NODES} nodes, round robin`, three));
    process.stdout.write(`ratio ${NODES} nodes / 1 node: ${(rate(three) / rate(one)).toFixed(2)}\n`);
  } finally {
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(
      nodes.map((n) => (n.child.exitCode === null ? new Promise((r) => n.child.once('exit', r)) : undefined)),
    );
    await dropDatabase(databaseUrl, root);
    if (REDIS !== 'none') await deleteKeys(REDIS, clusterKeyPrefix(redactDatabaseUrl(databaseUrl)));
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
