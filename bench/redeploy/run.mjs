// Issue 13 on one node: a steady load on a node app during 10 redeploys through the admin API. Counts failed
// requests (any non-200 or socket error; the goal is 0), compares latency before and during the redeploys,
// and times each deploy call to the first answer of the new version seen by a client. Rollbacks and the
// three nodes are not measured yet: they need the versions stored in the database.
//
//   npm run bench:redeploy -- [--app small|express] [--clients 16] [--warmup 5] [--redeploys 10] [--pause 1000] [--after 3]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import yazl from 'yazl';
import { untilAnswers } from '../until-answers.mjs';

const { values: flags } = parseArgs({
  options: {
    app: { type: 'string', default: 'small' },
    clients: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '5' },
    redeploys: { type: 'string', default: '10' },
    pause: { type: 'string', default: '1000' },
    after: { type: 'string', default: '3' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
/** Any answer but a server error: the server (or the app) is up. */
const answered = (status) => status < 500;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const PASSWORD = 'bench-admin-pw';
const APP = 'bench-redeploy';

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

async function zip(files) {
  const file = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files))
    file.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content), name);
  file.end();
  const chunks = [];
  for await (const chunk of file.outputStream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const home = mkdtempSync(path.join(tmpdir(), 'tessera-bench-redeploy-'));
const port = 20000 + Math.floor(Math.random() * 20000);
const server = spawn(process.execPath, [path.join(root, 'bin/tessera.js'), 'start', '--home', home], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: PASSWORD },
});
const base = `http://127.0.0.1:${port}`;
const archive = await zip(files);
const auth = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;

/** Uploads the app; resolves with the answer's `status.version` once the upload has answered. */
async function deploy() {
  const response = await fetch(`${base}/api/v1/tenants/carbon.super/webapps?name=${APP}`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/zip' },
    body: archive,
  });
  const body = await response.json();
  if (response.status !== 201) throw new Error(`deploy answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

try {
  await untilAnswers(`${base}/healthz`, { accept: answered });
  await deploy();
  await untilAnswers(`${base}/${APP}/`, { accept: answered });

  const agent = new Agent({ connections: Number(flags.clients), keepAliveTimeout: 30_000 });
  /** Each answer: when it came, how long it took, its version or failure. */
  const samples = [];
  let phase = 'warmup';
  let running = true;
  const versionsSeen = new Map(); // version -> first time a client saw it
  async function client() {
    while (running) {
      const t0 = performance.now();
      let ok = false;
      let version;
      try {
        const answer = await request(`${base}/${APP}/`, { dispatcher: agent });
        version = await answer.body.text();
        ok = answer.statusCode === 200;
        if (!ok) version = `status ${answer.statusCode}`;
      } catch (error) {
        version = String(error);
      }
      const t1 = performance.now();
      samples.push({ phase, ms: t1 - t0, ok, version });
      if (ok && !versionsSeen.has(version)) versionsSeen.set(version, t1);
    }
  }
  const clients = Array.from({ length: Number(flags.clients) }, client);
  await sleep(Number(flags.warmup) * 1000);
  phase = 'redeploys';
  const switches = [];
  for (let i = 0; i < Number(flags.redeploys); i += 1) {
    const calledAt = performance.now();
    const body = await deploy();
    const answeredAt = performance.now();
    const version = body.status?.version ?? body.version;
    // The first answer of the new version a client saw (it may come just before the upload's answer).
    const until = Date.now() + 10_000;
    while (!versionsSeen.has(version) && Date.now() < until) await sleep(5);
    const seenAt = versionsSeen.get(version);
    switches.push({
      version,
      uploadMs: answeredAt - calledAt,
      firstAnswerMs: seenAt === undefined ? Number.NaN : seenAt - calledAt,
    });
    await sleep(Number(flags.pause));
  }
  phase = 'after';
  await sleep(Number(flags.after) * 1000);
  running = false;
  await Promise.all(clients);
  await agent.close();

  const failed = samples.filter((s) => !s.ok);
  const lat = (which) =>
    samples
      .filter((s) => s.phase === which && s.ok)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
  const before = lat('warmup');
  const during = lat('redeploys');
  const fmt = (n) => n.toFixed(1);
  const firsts = switches.map((s) => s.firstAnswerMs).sort((a, b) => a - b);
  const uploads = switches.map((s) => s.uploadMs).sort((a, b) => a - b);
  console.log(
    `load average at the end: ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `app ${flags.app} (${Object.keys(files).length} files, zip ${(archive.length / 1024).toFixed(0)} KiB)`,
  );
  console.log(
    `clients ${flags.clients}, warm-up ${flags.warmup} s, ${switches.length} redeploys, ${flags.pause} ms apart`,
  );
  console.log(`requests ${samples.length}, failed ${failed.length}`);
  if (failed.length)
    console.log(`  failures: ${[...new Set(failed.map((f) => f.version))].slice(0, 5).join(' | ')}`);
  console.log(
    `latency before: p50 ${fmt(percentile(before, 50))} ms, p99 ${fmt(percentile(before, 99))} ms (${before.length} requests)`,
  );
  console.log(
    `latency during: p50 ${fmt(percentile(during, 50))} ms, p99 ${fmt(percentile(during, 99))} ms (${during.length} requests)`,
  );
  console.log(
    `p99 during / before: ${(percentile(during, 99) / percentile(before, 99)).toFixed(2)}, p50: ${(percentile(during, 50) / percentile(before, 50)).toFixed(2)}`,
  );
  console.log(
    `deploy call to first answer of the new version: min ${fmt(firsts[0])} ms, median ${fmt(percentile(firsts, 50))} ms, max ${fmt(firsts.at(-1))} ms`,
  );
  console.log(
    `deploy call to the upload's answer: min ${fmt(uploads[0])} ms, median ${fmt(percentile(uploads, 50))} ms, max ${fmt(uploads.at(-1))} ms`,
  );
} finally {
  await new Promise((resolve) => {
    if (server.exitCode !== null) return resolve();
    server.once('exit', resolve);
    server.kill('SIGTERM');
  });
  rmSync(home, { recursive: true, force: true });
}
