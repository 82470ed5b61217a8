// Issue 16: a hello-world app and a ~1 ms handler through Tessera, against the same handler under bare
// node:http, in the same run, for both handler forms; the plain reverse-proxy hop of the transport spike
// (bench/apps-transport, `proxy`: http.request over a Unix socket) beside them; the app process's idle RSS.
// Rounds interleave the configurations so load from other work spreads over all of them.
//
//   npm run build && node bench/apps/run.mjs [--modes bare-listener,bare-fetch,tessera-listener,tessera-fetch,proxy-hop]
//        [--scenarios hello,cpu] [--connections 16,64] [--duration 10] [--warmup 3] [--rounds 2] [--json FILE]
//        [--cpu-prof DIR]   (then: node bench/apps/profile-summary.mjs DIR/*.cpuprofile)
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { untilAnswers } from '../until-answers.mjs';
import { rssMiB, wrk } from '../wrk.mjs';

const { values: flags } = parseArgs({
  options: {
    modes: { type: 'string', default: 'bare-listener,bare-fetch,tessera-listener,tessera-fetch,proxy-hop' },
    scenarios: { type: 'string', default: 'hello,cpu' },
    connections: { type: 'string', default: '16,64' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'string' },
    // Tessera's server runs under `node --cpu-prof`, its profiles written here when it stops.
    'cpu-prof': { type: 'string' },
  },
});
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const modes = flags.modes.split(',');
const scenarios = flags.scenarios.split(',');
const connectionCounts = flags.connections.split(',').map(Number);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * CPU time (user + system) a process has used, in seconds. Per request, it measures a configuration's cost
 * more steadily than requests/s when other work shares the cores: contention stretches the time a request
 * waits, not the CPU it takes.
 */
function cpuSeconds(pid) {
  if (!pid) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

function stopped(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

/** A bare node:http server running the handler in-process; resolves with its port and pid. */
function startBare(form) {
  const child = spawn(process.execPath, [path.join(here, 'bare.mjs'), form], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bare ${form} exited early (${code})`)));
    child.stdout.once('data', (line) => {
      const { port } = JSON.parse(String(line));
      resolve({ child, base: `http://127.0.0.1:${port}`, appPid: child.pid, stop: () => stopped(child) });
    });
  });
}

/** The transport spike's `proxy` front: Fastify and http.request to a child over a Unix socket. */
function startProxyHop() {
  const front = spawn(process.execPath, [path.join(root, 'bench/apps-transport/front.mjs'), 'proxy'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    front.once('exit', (code) => reject(new Error(`proxy hop exited early (${code})`)));
    front.stdout.once('data', (line) => {
      const { port, appPid } = JSON.parse(String(line));
      resolve({
        base: `http://127.0.0.1:${port}/t/acme.com/shop`,
        appPid,
        frontPid: front.pid,
        stop: () => stopped(front),
      });
    });
  });
}

/** Tessera on a fresh SQLite home, with both forms deployed as folder apps of the super tenant. */
async function startTessera() {
  const home = mkdtempSync(path.join(tmpdir(), 'tessera-bench-apps-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const webapps = path.join(home, 'repository', 'deployment', 'server', 'webapps');
  for (const form of ['listener', 'fetch']) {
    const folder = path.join(webapps, `bench-${form}`);
    mkdirSync(folder, { recursive: true });
    copyFileSync(path.join(here, `app-${form}.mjs`), path.join(folder, 'server.mjs'));
    copyFileSync(path.join(here, 'work.mjs'), path.join(folder, 'work.mjs'));
    // Limits above wrk's connections: the bench measures the hop, not the 503 of max_concurrent.
    writeFileSync(
      path.join(folder, 'tessera-app.toml'),
      'runtime = "node"\nentry = "server.mjs"\n[limits]\nmax_concurrent = 1024\n',
    );
  }
  const profile = flags['cpu-prof']
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(flags['cpu-prof'])}`]
    : [];
  const server = spawn(
    process.execPath,
    [...profile, path.join(root, 'bin/tessera.js'), 'start', '--home', home],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, PORT: String(port), TESSERA_ADMIN_PASSWORD: 'bench-admin-pw' },
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await untilAnswers(`${base}/bench-listener/hello`);
  await untilAnswers(`${base}/bench-fetch/hello`);
  return {
    base,
    serverPid: server.pid,
    async stop() {
      await stopped(server);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * The pid of an app's process: the server's child whose permission flags name the app's folder (the API's
 * status has no pid, and the settings travel over IPC, not argv).
 */
function appPidOf(serverPid, form) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === serverPid && cmdline.includes(`bench-${form}`)) return Number(entry);
    } catch {
      // the process went away meanwhile
    }
  }
  return undefined;
}

const results = [];
const idle = {};
for (let round = 1; round <= Number(flags.rounds); round++) {
  // One Tessera per round serves both tessera-* modes.
  const tessera = modes.some((mode) => mode.startsWith('tessera-')) ? await startTessera() : undefined;
  for (const mode of modes) {
    const [kind, form] = mode.split('-');
    const run =
      kind === 'bare'
        ? await startBare(form)
        : kind === 'proxy'
          ? await startProxyHop()
          : {
              base: `${tessera.base}/bench-${form}`,
              appPid: appPidOf(tessera.serverPid, form),
              frontPid: tessera.serverPid,
              stop: async () => {},
            };
    await sleep(1000);
    idle[mode] ??= [];
    if (run.appPid) idle[mode].push(rssMiB(run.appPid));
    for (const scenario of scenarios) {
      for (const connections of connectionCounts) {
        const url = `${run.base}/${scenario}`;
        wrk(url, connections, Number(flags.warmup));
        const load = loadavg()[0].toFixed(2);
        const cpuBefore = [cpuSeconds(run.frontPid), cpuSeconds(run.appPid)];
        const figures = wrk(url, connections, Number(flags.duration));
        const served = figures.rps * Number(flags.duration);
        const [frontUs, appUs] = [run.frontPid, run.appPid].map((pid, i) =>
          pid ? Math.round(((cpuSeconds(pid) - cpuBefore[i]) * 1e6) / served) : undefined,
        );
        const row = { round, mode, scenario, connections, load, ...figures, frontUs, appUs };
        results.push(row);
        if (flags.json) appendFileSync(flags.json, `${JSON.stringify(row)}\n`);
        console.error(JSON.stringify(row));
      }
    }
    await run.stop();
  }
  if (tessera) {
    idle.tesseraServer ??= [];
    idle.tesseraServer.push(rssMiB(tessera.serverPid));
    await tessera.stop();
  }
}

// Each configuration against bare node:http with the same handler form in the same round (the proxy hop runs
// the listener form).
const referenceOf = (mode) => (mode.endsWith('-fetch') ? 'bare-fetch' : 'bare-listener');
console.log(
  '| scenario | conns | config | req/s per round | vs bare | p50 ms | p99 ms | p99 vs bare | front CPU µs/req | app CPU µs/req | load (1 min) | non-2xx |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const scenario of scenarios) {
  for (const connections of connectionCounts) {
    for (const mode of modes) {
      const rows = results.filter(
        (r) => r.mode === mode && r.scenario === scenario && r.connections === connections,
      );
      const bare = (round) =>
        results.find(
          (r) =>
            r.mode === referenceOf(mode) &&
            r.round === round &&
            r.scenario === scenario &&
            r.connections === connections,
        );
      const ratio = (r, key) => (bare(r.round) ? (r[key] / bare(r.round)[key]).toFixed(2) : '-');
      const list = (fn) => rows.map(fn).join(' / ');
      console.log(
        `| ${scenario} | ${connections} | ${mode} | ${list((r) => Math.round(r.rps))} | ${list((r) => ratio(r, 'rps'))} | ${list((r) => r.p50.toFixed(2))} | ${list((r) => r.p99.toFixed(2))} | ${list((r) => ratio(r, 'p99'))} | ${list((r) => r.frontUs ?? '-')} | ${list((r) => r.appUs ?? '-')} | ${list((r) => r.load)} | ${list((r) => r.errors)} |`,
      );
    }
  }
}
console.log('\n| process | idle RSS per round (MiB) |\n|---|---|');
for (const [name, values] of Object.entries(idle)) {
  console.log(`| ${name} | ${values.map((v) => v.toFixed(1)).join(' / ')} |`);
}
