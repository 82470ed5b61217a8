// Issue 13: a steady load on a node app through every node of a cluster during 10 redeploys and 2 rollbacks.
//
// `--nodes 3` (the default) starts three `tessera start` processes, each on a home of its own, all on one
// fresh PostgreSQL database (bench_redeploy_<random>, dropped at the end) and, unless `--redis off`, on the
// machine's Redis (keys and channel are prefixed by a hash of that database's URL, so nothing clashes with
// the tests; the keys are deleted at the end). Closed-loop keep-alive clients send each request to the next
// node in turn (round robin). After a warm-up (failures counted, latency not: a node just started served
// at a fraction of its steady rate for its first ~8 s in every trial run, three nodes sharing the load for
// 20 s and more; 10 s for one node, 30 s for several by default) and a measured "before",
// `--redeploys` uploads of a new zip (each carries its own build.txt, since bytes equal to the current
// version's are that version again) through node A (`--deploy-on rotate`: A, B, C, A, ...), then
// `--rollbacks` rollbacks through the last node (`POST .../rollback {version}`: to the version before the
// newest, then the one before that), then a tail. With each API call a poller per node starts asking that
// node for the app every 10 ms until the body is the new version (the app answers its TESSERA_APP_VERSION);
// the next switch waits until every node serves it (or `--settle` seconds passed: that node is reported as
// never switching), then `--pause` ms.
//
// Reports: requests and failed requests (any non-200 or socket error, load and pollers; the goal is 0) per
// node, p50/p99 of the load before against during the switches, and per deploy or rollback the time from
// the API call to its answer, to the first answer of the new version on each node (the first sample sent
// after the call whose body is that version, load client or poller) and to every node serving it, and the
// answers of an older version a node gave after it had answered the new one. With `--redis off` the other
// nodes learn of a version only at their 5 s periodic follow, which the times then show. The homes (each
// with logs/tessera.log) are kept with `--keep`, or when a request failed or a node never switched.
//
// `--failing N` adds, after the redeploys, N uploads of a version that throws at import (through A, each
// watched for 8 s): the upload must answer with `status.failed`, no node may answer that version, and every
// node must end on the version before; the logs' timeline shows which nodes took and tried it.
//
// `--nodes 1` is the measurement from before the cluster: one node on a SQLite home, no rollbacks unless
// `--rollbacks N`.
//
//   npm run bench:redeploy -- [--nodes 3] [--redis on|off|URL] [--app small|express] [--clients 16]
//     [--warmup 30|10] [--before 5] [--redeploys 10] [--rollbacks 2] [--deploy-on a|rotate] [--pause 1000]
//     [--after 3] [--settle 60] [--failing 0] [--keep] [--series]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Agent, request } from 'undici';
import yazl from 'yazl';
import { untilAnswers } from '../until-answers.mjs';

const { values: flags } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    redis: { type: 'string', default: 'on' },
    app: { type: 'string', default: 'small' },
    clients: { type: 'string', default: '16' },
    warmup: { type: 'string' },
    before: { type: 'string', default: '5' },
    redeploys: { type: 'string', default: '10' },
    rollbacks: { type: 'string' },
    'deploy-on': { type: 'string', default: 'a' },
    pause: { type: 'string', default: '1000' },
    after: { type: 'string', default: '3' },
    settle: { type: 'string', default: '60' },
    keep: { type: 'boolean', default: false },
    series: { type: 'boolean', default: false },
    failing: { type: 'string', default: '0' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const NODES = Number(flags.nodes);
const CLUSTER = NODES > 1;
const REDIS_URL =
  flags.redis === 'on' ? 'redis://127.0.0.1:6379' : flags.redis === 'off' ? undefined : flags.redis;
const ROLLBACKS = Number(flags.rollbacks ?? (CLUSTER ? 2 : 0));
/** Seconds of unmeasured load first: each of three nodes gets a third of it, so its code warms three times slower. */
const WARMUP = Number(flags.warmup ?? (CLUSTER ? 30 : 10));
const SETTLE_MS = Number(flags.settle) * 1000;
const POSTGRES = 'postgres://postgres@127.0.0.1:5432';
/** Any answer but a server error: the server (or the app) is up. */
const answered = (status) => status < 500;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const PASSWORD = 'bench-admin-pw';
const APP = 'bench-redeploy';
const TENANT_API = '/api/v1/tenants/carbon.super/webapps';
const NAMES = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
if (!(NODES >= 1 && NODES <= NAMES.length)) throw new Error('--nodes takes 1 to 26');
if (!CLUSTER && flags.redis !== 'on') throw new Error('--redis is for a cluster: one node runs without it');

/** A listener app answering its TESSERA_APP_VERSION; healthy at once. */
const APP_FILES = {
  'tessera-app.toml':
    'runtime = "node"\nentry = "server.mjs"\nhealth = "/healthz"\n[limits]\nmax_concurrent = 1024\n',
  'server.mjs':
    'export default (req, res) => { res.setHeader("content-type", "text/plain"); res.end(process.env.TESSERA_APP_VERSION); };\n',
};

/**
 * The same answer from an Express 5 app with its node_modules (about 600 files), installed as an app
 * author would, from npm's cache (the project's devDependencies put Express there).
 */
function expressFiles() {
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-bench-express-'));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module' }),
  );
  execFileSync(
    'npm',
    ['install', '--prefix', dir, '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', 'express@5'],
    {
      stdio: 'ignore',
    },
  );
  const files = {};
  for (const name of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!name.isFile()) continue;
    const full = path.join(name.parentPath, name.name);
    files[path.relative(dir, full)] = readFileSync(full);
  }
  rmSync(dir, { recursive: true, force: true });
  files['tessera-app.toml'] = APP_FILES['tessera-app.toml'];
  files['server.mjs'] = [
    "import express from 'express';",
    'const app = express();',
    "app.get('/healthz', (req, res) => res.sendStatus(200));",
    "app.get('/', (req, res) => res.type('text/plain').send(process.env.TESSERA_APP_VERSION));",
    'export default app;',
  ].join('\n');
  return files;
}

const files = flags.app === 'express' ? expressFiles() : APP_FILES;

/**
 * The app's zip for upload number `build`: the cluster numbers an upload whose bytes equal the current
 * version's as that version (no switch), so each upload carries a file of its own.
 */
let zipBytes = 0;
async function zip(build, { failing = false } = {}) {
  const file = new yazl.ZipFile();
  const contents = failing
    ? { ...files, 'server.mjs': 'throw new Error("bench: this version fails at import");\n' }
    : files;
  for (const [name, content] of Object.entries(contents))
    file.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name);
  file.addBuffer(Buffer.from(`build ${build}\n`), 'build.txt');
  file.end();
  const chunks = [];
  for await (const chunk of file.outputStream) chunks.push(chunk);
  const archive = Buffer.concat(chunks);
  if (!failing) zipBytes = archive.length;
  return archive;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** A `performance.now()` instant as UTC wall-clock time, to find it in the nodes' logs. */
const wall = (t) => new Date(performance.timeOrigin + t).toISOString().slice(11, 23);

/** A port nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const top = mkdtempSync(path.join(tmpdir(), 'tessera-bench-redeploy-'));
const database = CLUSTER ? `bench_redeploy_${Math.random().toString(16).slice(2, 10)}` : undefined;
const databaseUrl = database ? `${POSTGRES}/${database}` : undefined;
const auth = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
/** The nodes: name, home, base URL, process. */
const nodes = [];
let keepHomes = flags.keep;

/** Writes a cluster node's home: the shared database, Redis unless off, the default everything else. */
async function writeClusterHome(home) {
  const { defaultConfigText } = await import(path.join(root, 'dist/config/schema.js'));
  let text = defaultConfigText(databaseUrl);
  if (REDIS_URL) {
    if (!text.includes('[cache]\n')) throw new Error('the default config has no [cache] section');
    text = text.replace('[cache]\n', `[cache]\nredis = "${REDIS_URL}"\n`);
  }
  mkdirSync(path.join(home, 'conf'), { recursive: true });
  writeFileSync(path.join(home, 'conf', 'tessera.toml'), text);
}

async function startNode(index) {
  const name = NAMES[index];
  const home = path.join(top, `node-${name}`);
  mkdirSync(home, { recursive: true });
  if (CLUSTER) await writeClusterHome(home);
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'bin/tessera.js'), 'start', '--home', home], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: PASSWORD },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const node = { name, index, home, base: `http://127.0.0.1:${port}`, child, exited };
  nodes.push(node);
  await untilAnswers(`${node.base}/healthz`, { accept: answered });
  return node;
}

async function stopNodes() {
  for (const node of nodes) {
    if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGTERM');
  }
  await Promise.all(nodes.map((n) => n.exited));
}

async function withPostgres(sql) {
  const client = new pg.Client({ connectionString: `${POSTGRES}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Deletes the cluster's Redis keys (SCAN under its prefix: the Redis is shared). */
async function deleteRedisKeys() {
  const { clusterKeyPrefix } = await import(path.join(root, 'dist/cache/cluster-cache.js'));
  const { redactDatabaseUrl } = await import(path.join(root, 'dist/db/url.js'));
  const prefix = clusterKeyPrefix(redactDatabaseUrl(databaseUrl));
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function api(node, method, route, { body, zip: archive } = {}) {
  const headers = { authorization: auth };
  if (archive) headers['content-type'] = 'application/zip';
  else if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${node.base}${route}`, {
    method,
    headers,
    body: archive ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { text };
  }
  return { status: response.status, body: json };
}

/** Uploads upload number `build` through `node`; the answer's body, or throws on anything but 201. */
async function deploy(node, build, options) {
  const { status, body } = await api(node, 'POST', `${TENANT_API}?name=${APP}`, {
    zip: await zip(build, options),
  });
  if (status !== 201) throw new Error(`deploy on ${node.name} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

async function rollback(node, version) {
  const { status, body } = await api(node, 'POST', `${TENANT_API}/${APP}/rollback`, { body: { version } });
  if (status !== 200)
    throw new Error(`rollback on ${node.name} to ${version} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

/** Each answer: node, phase, when it was sent and came, its version or failure. */
const samples = [];
/**
 * `setup` (the first version reaching every node: not counted), `warmup` (counted for failures, not for
 * latency: cold code), `before`, `redeploys`, `failing` (`--failing`), `rollbacks`, `after`.
 */
let phase = 'setup';
const pollAgents = [];

/**
 * Asks `node` for the app every 10 ms (its own connection) until the body is `version`; resolves with the
 * time of that answer, or NaN after `SETTLE_MS` from `since`. Its answers count as requests too.
 */
async function pollUntil(node, version, since) {
  const agent = pollAgents[node.index];
  while (performance.now() - since < SETTLE_MS) {
    const t0 = performance.now();
    let ok = false;
    let body;
    try {
      const answer = await request(`${node.base}/${APP}/`, { dispatcher: agent });
      body = await answer.body.text();
      ok = answer.statusCode === 200;
      if (!ok) body = `status ${answer.statusCode}: ${body.slice(0, 200)}`;
    } catch (error) {
      body = String(error);
    }
    const t1 = performance.now();
    samples.push({ node: node.index, phase, t0, t1, ok, version: body, poll: true });
    if (ok && body === version) return t1;
    await sleep(10);
  }
  return Number.NaN;
}

const problems = [];
const switches = [];
const clientsCount = Number(flags.clients);
let agent;
let running = true;
let clients = [];

try {
  if (CLUSTER) await withPostgres(`CREATE DATABASE ${database}`);
  // The first node creates the schema; the others join it.
  await startNode(0);
  await Promise.all(Array.from({ length: NODES - 1 }, (_, i) => startNode(i + 1)));
  for (let i = 0; i < NODES; i += 1) pollAgents.push(new Agent({ connections: 1, keepAliveTimeout: 30_000 }));

  let build = 1;
  const first = await deploy(nodes[0], build);
  let current = first.status?.version ?? first.version;
  const readyAt = performance.now();
  const ready = await Promise.all(nodes.map((n) => pollUntil(n, current, readyAt)));
  if (ready.some(Number.isNaN)) throw new Error(`version ${current} not served by every node at the start`);

  phase = 'warmup';
  agent = new Agent({ connections: clientsCount, keepAliveTimeout: 30_000 });
  let nextNode = 0;
  async function client() {
    while (running) {
      const node = nodes[nextNode];
      nextNode = (nextNode + 1) % NODES;
      const t0 = performance.now();
      let ok = false;
      let version;
      try {
        const answer = await request(`${node.base}/${APP}/`, { dispatcher: agent });
        version = await answer.body.text();
        ok = answer.statusCode === 200;
        if (!ok) version = `status ${answer.statusCode}: ${version.slice(0, 200)}`;
      } catch (error) {
        version = String(error);
      }
      samples.push({ node: node.index, phase, t0, t1: performance.now(), ok, version });
    }
  }
  clients = Array.from({ length: clientsCount }, client);
  await sleep(WARMUP * 1000);
  phase = 'before';
  await sleep(Number(flags.before) * 1000);

  /** One switch: `call` makes it and resolves with the API's answer; every node is then waited for. */
  async function measureSwitch(kind, via, version, call) {
    const calledAt = performance.now();
    const polls = nodes.map((n) => pollUntil(n, version, calledAt));
    let body;
    try {
      body = await call();
    } catch (error) {
      problems.push(`${kind} to version ${version} through ${via.name}: ${String(error)}`);
    }
    const answeredAt = performance.now();
    const serving = await Promise.all(polls);
    const failed = body?.status?.failed;
    if (failed) problems.push(`${kind} to version ${version}: status.failed ${JSON.stringify(failed)}`);
    if (body && (body.status?.version ?? body.version) !== version)
      problems.push(`${kind} answered with version ${body.status?.version ?? body.version}, not ${version}`);
    serving.forEach((at, i) => {
      if (Number.isNaN(at))
        problems.push(
          `node ${NAMES[i]} did not serve version ${version} within ${flags.settle} s of the ${kind} call`,
        );
    });
    switches.push({
      kind,
      via: via.name,
      version,
      calledAt,
      answerMs: answeredAt - calledAt,
      pollMs: serving.map((at) => at - calledAt),
      allMs: Math.max(...serving) - calledAt,
    });
    await sleep(Number(flags.pause));
  }

  phase = 'redeploys';
  const versions = [current];
  for (let i = 0; i < Number(flags.redeploys); i += 1) {
    build += 1;
    const via = flags['deploy-on'] === 'rotate' ? nodes[i % NODES] : nodes[0];
    const expected = String(Number(current) + 1);
    await measureSwitch('deploy', via, expected, () => deploy(via, build));
    current = expected;
    versions.push(current);
  }
  // A version that throws at import: the upload answers with status.failed, no node may ever answer it,
  // and the version before stays current everywhere.
  let lastNumber = Number(current);
  for (let f = 0; f < Number(flags.failing); f += 1) {
    phase = 'failing';
    build += 1;
    lastNumber += 1;
    const bad = String(lastNumber);
    const via = nodes[0];
    const calledAt = performance.now();
    let body;
    try {
      body = await deploy(via, build, { failing: true });
    } catch (error) {
      problems.push(`failing deploy ${bad} through ${via.name}: ${String(error)}`);
    }
    const answeredAt = performance.now();
    if (body && (body.status?.failed?.version !== bad || body.status?.version !== current))
      problems.push(`failing deploy ${bad}: answered ${JSON.stringify(body.status)}`);
    // Past one periodic follow (5 s) and a start: every node had its chance to try it.
    await sleep(Math.max(8000, Number(flags.pause)));
    switches.push({
      kind: 'failing',
      via: via.name,
      version: bad,
      calledAt,
      answerMs: answeredAt - calledAt,
      pollMs: nodes.map(() => Number.NaN),
      allMs: Number.NaN,
    });
    for (const node of nodes) {
      const served = samples.filter(
        (s) => s.node === node.index && s.t0 >= calledAt && s.version === bad,
      ).length;
      if (served)
        problems.push(`node ${node.name} answered ${served} requests with the failing version ${bad}`);
      const list = await api(node, 'GET', TENANT_API);
      const app = list.body.webapps?.find((w) => w.name === APP);
      if (app?.status?.version !== current)
        problems.push(`after the failing deploy ${bad}, node ${node.name} serves ${app?.status?.version}`);
    }
  }
  phase = 'rollbacks';
  const newest = Number(current);
  for (let k = 1; k <= ROLLBACKS; k += 1) {
    const target = String(Math.max(1, newest - k));
    const via = nodes[NODES - 1];
    await measureSwitch('rollback', via, target, () => rollback(via, Number(target)));
    current = target;
  }
  phase = 'after';
  await sleep(Number(flags.after) * 1000);
  running = false;
  await Promise.all(clients);

  // What every node says at the end: the version serving there and the cluster's current one.
  const finals = [];
  for (const node of nodes) {
    const list = await api(node, 'GET', TENANT_API);
    const app = list.body.webapps?.find((w) => w.name === APP);
    finals.push(`${node.name} serves ${app?.status?.version} (state ${app?.status?.state})`);
    if (app?.status?.version !== current)
      problems.push(`node ${node.name} ends on ${app?.status?.version}, not ${current}`);
  }
  const history = await api(nodes[0], 'GET', `${TENANT_API}/${APP}/versions`);

  report(finals, history.body);
} catch (error) {
  problems.push(`the run stopped: ${error?.stack ?? String(error)}`);
} finally {
  running = false;
  await Promise.all(clients);
  await agent?.close();
  await Promise.all(pollAgents.map((a) => a.close()));
  await stopNodes();
  if (switches.length) timeline();
  if (problems.length) {
    console.log('\nPROBLEMS:');
    for (const p of problems) console.log(`  ${p}`);
    keepHomes = true;
  }
  if (samples.some((s) => !s.ok && s.phase !== 'setup')) keepHomes = true;
  if (CLUSTER) {
    await withPostgres(`DROP DATABASE IF EXISTS ${database}`);
    if (REDIS_URL) await deleteRedisKeys();
  }
  if (keepHomes) console.log(`homes kept in ${top} (logs/tessera.log in each)`);
  else rmSync(top, { recursive: true, force: true });
}

function report(finals, history) {
  const fmt = (n) => (Number.isNaN(n) ? 'never' : n.toFixed(1));
  const fmtS = (ms) => (Number.isNaN(ms) ? 'never' : `${(ms / 1000).toFixed(2)} s`);
  const during = (s) => s.phase === 'redeploys' || s.phase === 'failing' || s.phase === 'rollbacks';
  const sorted = (list) => list.map((s) => s.ms ?? s.t1 - s.t0).sort((a, b) => a - b);
  const counted = samples.filter((s) => s.phase !== 'setup');
  const load = counted.filter((s) => !s.poll);
  const failed = counted.filter((s) => !s.ok);
  console.log(
    `load average at the end: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `app ${flags.app} (${Object.keys(files).length + 1} files, zip ${(zipBytes / 1024).toFixed(1)} KiB)`,
  );
  console.log(
    CLUSTER
      ? `${NODES} nodes on PostgreSQL ${database}, ${REDIS_URL ? `Redis ${REDIS_URL}: a version reaches the other nodes by the bus message` : 'no Redis: the other nodes take a version only at their 5 s periodic follow'}`
      : '1 node on SQLite',
  );
  console.log(
    `clients ${clientsCount} (round robin over the nodes), warm-up ${WARMUP} s, before ${flags.before} s, ${Number(flags.redeploys)} redeploys through ${flags['deploy-on'] === 'rotate' ? 'each node in turn' : 'A'}, ${ROLLBACKS} rollbacks through ${NAMES[NODES - 1]}, ${flags.pause} ms after every node serves each, tail ${flags.after} s`,
  );
  console.log(
    `requests ${counted.length} (${load.length} by the load, ${counted.length - load.length} by the pollers), failed ${failed.length}`,
  );
  for (const node of nodes) {
    const mine = load.filter((s) => s.node === node.index);
    const before = sorted(mine.filter((s) => s.phase === 'before' && s.ok));
    const whileSwitching = sorted(mine.filter((s) => during(s) && s.ok));
    const bad = counted.filter((s) => s.node === node.index && !s.ok).length;
    console.log(
      `  node ${node.name}: requests ${counted.filter((s) => s.node === node.index).length}, failed ${bad}; p50 ${fmt(percentile(before, 50))} / ${fmt(percentile(whileSwitching, 50))} ms, p99 ${fmt(percentile(before, 99))} / ${fmt(percentile(whileSwitching, 99))} ms (before / during)`,
    );
  }
  if (failed.length) {
    console.log('  failures (first 10): node, phase, ms after the last switch call, what');
    for (const f of failed.slice(0, 10)) {
      const last = switches.filter((s) => s.calledAt <= f.t0).at(-1);
      const after = last
        ? `${(f.t0 - last.calledAt).toFixed(0)} ms after the ${last.kind} to ${last.version}`
        : '-';
      console.log(
        `    ${NAMES[f.node]} at ${wall(f.t0)} ${f.phase}${f.poll ? ' (poller)' : ''} ${after}: ${f.version}`,
      );
    }
  }
  const before = sorted(load.filter((s) => s.phase === 'before' && s.ok));
  const whileSwitching = sorted(load.filter((s) => during(s) && s.ok));
  console.log(
    `latency before: p50 ${fmt(percentile(before, 50))} ms, p99 ${fmt(percentile(before, 99))} ms (${before.length} requests)`,
  );
  console.log(
    `latency during: p50 ${fmt(percentile(whileSwitching, 50))} ms, p99 ${fmt(percentile(whileSwitching, 99))} ms (${whileSwitching.length} requests)`,
  );
  const tail = sorted(load.filter((s) => s.phase === 'after' && s.ok));
  console.log(
    `latency after: p50 ${fmt(percentile(tail, 50))} ms, p99 ${fmt(percentile(tail, 99))} ms (${tail.length} requests)`,
  );
  // Requests per second of each phase: the machine's other work moves it, and the latencies with it.
  const rate = (which) => {
    const list = load.filter(which);
    if (list.length < 2) return Number.NaN;
    const span =
      list.reduce((m, s) => Math.max(m, s.t1), 0) - list.reduce((m, s) => Math.min(m, s.t0), Infinity);
    return list.length / (span / 1000);
  };
  console.log(
    `load served, requests/s: before ${rate((s) => s.phase === 'before').toFixed(0)}, during ${rate(during).toFixed(0)}, after ${rate((s) => s.phase === 'after').toFixed(0)}`,
  );
  console.log(
    `p99 during / before: ${(percentile(whileSwitching, 99) / percentile(before, 99)).toFixed(2)}, p50: ${(percentile(whileSwitching, 50) / percentile(before, 50)).toFixed(2)}`,
  );

  if (flags.series) {
    // The load second by second: requests, p50 and p99, and the switches called in that second.
    // Not Math.min(...list): a run has more samples than the stack has room for arguments.
    const start = load.reduce((m, s) => Math.min(m, s.t0), Infinity);
    const seconds = new Map();
    for (const s of load) {
      const second = Math.floor((s.t1 - start) / 1000);
      if (!seconds.has(second)) seconds.set(second, []);
      seconds.get(second).push(s.t1 - s.t0);
    }
    console.log('\nsecond, phase, requests, p50 ms, p99 ms, switch called');
    for (const [second, list] of [...seconds].sort((a, b) => a[0] - b[0])) {
      list.sort((a, b) => a - b);
      const phaseThen = load.find((s) => Math.floor((s.t1 - start) / 1000) === second)?.phase;
      const called = switches
        .filter((sw) => Math.floor((sw.calledAt - start) / 1000) === second)
        .map((sw) => `${sw.kind} v${sw.version}`)
        .join(' ');
      console.log(
        `  ${second} ${phaseThen} ${list.length} ${fmt(percentile(list, 50))} ${fmt(percentile(list, 99))} ${called}`,
      );
    }
  }

  // Per switch: the API's answer, then per node the first answer of the new version any client saw (load or
  // poller: the first sample sent after the call whose body is the new version) and the poller's.
  const firstSeen = (sw, index) => {
    const hit = samples.find(
      (s) => s.node === index && s.ok && s.t0 >= sw.calledAt && s.version === sw.version,
    );
    return hit ? hit.t1 - sw.calledAt : Number.NaN;
  };
  // An old version answering on a node after that node answered the new one (sent after that answer came).
  const staleAfter = (sw, index, nextCall) => {
    const hit = samples.find(
      (s) => s.node === index && s.ok && s.t0 >= sw.calledAt && s.version === sw.version,
    );
    if (!hit) return 0;
    return samples.filter(
      (s) => s.node === index && s.ok && s.t0 > hit.t1 && s.t0 < nextCall && s.version !== sw.version,
    ).length;
  };
  console.log(
    `\nper switch, ms from the API call: its answer; per node the first answer of the new version (any client) / the poller's; every node serving it`,
  );
  let stale = 0;
  switches.forEach((sw, i) => {
    const nextCall = switches[i + 1]?.calledAt ?? Number.POSITIVE_INFINITY;
    const perNode = nodes
      .map((n) => {
        const old = staleAfter(sw, n.index, nextCall);
        stale += old;
        return `${n.name} ${fmt(firstSeen(sw, n.index))}/${fmt(sw.pollMs[n.index])}${old ? ` (${old} old after)` : ''}`;
      })
      .join(', ');
    console.log(
      `  ${wall(sw.calledAt)} ${sw.kind.padEnd(8)} v${sw.version.padEnd(3)} via ${sw.via}: answer ${fmt(sw.answerMs)}; ${perNode}; all ${fmt(sw.allMs)}`,
    );
  });
  console.log(`answers of an older version after a node had answered the new one: ${stale}`);
  for (const kind of ['deploy', 'rollback']) {
    const mine = switches.filter((s) => s.kind === kind);
    if (!mine.length) continue;
    const all = mine.map((s) => s.allMs).sort((a, b) => a - b);
    const answers = mine.map((s) => s.answerMs).sort((a, b) => a - b);
    const firsts = mine
      .map((s) => Math.min(...nodes.map((n) => firstSeen(s, n.index))))
      .sort((a, b) => a - b);
    const stat = (list) =>
      `min ${fmtS(list[0])}, median ${fmtS(percentile(list, 50))}, max ${fmtS(list.at(-1))}`;
    console.log(`${kind} (${mine.length}): call to its answer: ${stat(answers)}`);
    console.log(
      `${kind} (${mine.length}): call to the first answer of the new version on any node: ${stat(firsts)}`,
    );
    if (CLUSTER) console.log(`${kind} (${mine.length}): call to every node serving it: ${stat(all)}`);
    if (CLUSTER)
      for (const node of nodes) {
        const own = mine.map((s) => s.pollMs[node.index]).sort((a, b) => a - b);
        console.log(`  node ${node.name}: ${stat(own)}`);
      }
  }
  console.log(
    `at the end: ${finals.join(', ')}; the cluster's current version ${history.current}, keep ${history.keep}`,
  );
}

/**
 * Where each switch's time went on each node, from the nodes' logs (read once they stopped): from the API
 * call to the version taken from the database (a node that was not called: the bus message or the periodic
 * follow), to the deployer's "webapp deployed" (zip checked and extracted), to "app process started" (the run
 * copy made), to "app version switched" (the new process running and healthy).
 */
function timeline() {
  const events = nodes.map((node) => {
    try {
      return readFileSync(path.join(node.home, 'logs', 'tessera.log'), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line))
        .filter((e) => e.app === APP || e.app === undefined);
    } catch {
      return [];
    }
  });
  const steps = ['taken', 'deployed', 'started', 'switched'];
  const gaps = new Map(); // "kind called|other step" -> [ms]
  const fmt = (ms) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));
  console.log(
    '\nfrom the logs, s from the API call: taken from the database / webapp deployed / app process started / switched',
  );
  switches.forEach((sw, i) => {
    const call = performance.timeOrigin + sw.calledAt;
    const next = performance.timeOrigin + (switches[i + 1]?.calledAt ?? Number.POSITIVE_INFINITY);
    const perNode = nodes.map((node) => {
      const after = events[node.index].filter((e) => e.time >= call && e.time < next);
      const v = sw.version;
      const at = {};
      at.taken = after.find(
        (e) => e.msg?.startsWith('app version taken from') && String(e.version) === v,
      )?.time;
      at.deployed = after.find(
        (e) => e.msg === 'webapp deployed' && e.component === 'deployer' && e.time >= (at.taken ?? call),
      )?.time;
      at.started = after.find((e) => e.msg === 'app process started' && e.version === v)?.time;
      at.switched = after.find((e) => e.msg?.startsWith('app version switched') && e.version === v)?.time;
      const role = node.name === sw.via ? 'called' : 'other';
      let previous = call;
      for (const step of steps) {
        if (at[step] === undefined) continue;
        const key = `${sw.kind} ${role}|${step}`;
        if (!gaps.has(key)) gaps.set(key, []);
        gaps.get(key).push(at[step] - previous);
        previous = at[step];
      }
      return `${node.name} ${steps.map((step) => fmt(at[step] === undefined ? undefined : at[step] - call)).join('/')}`;
    });
    console.log(`  ${sw.kind.padEnd(8)} v${sw.version.padEnd(3)} via ${sw.via}: ${perNode.join(', ')}`);
  });
  console.log('median step, s (from the step before it; the first from the API call):');
  for (const kind of ['deploy', 'rollback']) {
    for (const role of ['called', 'other']) {
      const parts = steps
        .map((step) => {
          const list = (gaps.get(`${kind} ${role}|${step}`) ?? []).sort((a, b) => a - b);
          return list.length ? `${step} ${fmt(percentile(list, 50))} (${list.length})` : undefined;
        })
        .filter(Boolean);
      if (parts.length)
        console.log(
          `  ${kind}, ${role === 'called' ? 'the node called' : 'the other nodes'}: ${parts.join(', ')}`,
        );
    }
  }
}
