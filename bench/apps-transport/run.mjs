// Issue 16 spike: how a request reaches a tenant's app process. Starts each configuration of front.mjs in
// turn, drives it with wrk, and prints requests/s, p50 and p99 per scenario and connection count, with the
// load average beside each figure and the app process's idle RSS. Rounds interleave the configurations so
// that load from other work on the machine spreads over all of them.
//
//   node bench/apps-transport/run.mjs [--modes bare,proxy,undici,socket,frames] [--scenarios hello,cpu,mib]
//        [--connections 16,64] [--duration 10] [--warmup 3] [--rounds 2] [--json FILE]
// (c) needs undici: BENCH_UNDICI_DIR=DIR where `npm install --prefix DIR undici@7` put it.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { rssMiB, wrk } from '../wrk.mjs';

const { values: flags } = parseArgs({
  options: {
    modes: { type: 'string', default: 'bare,proxy,undici,socket,frames' },
    scenarios: { type: 'string', default: 'hello,cpu,mib' },
    connections: { type: 'string', default: '16,64' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const modes = flags.modes.split(',');
const scenarios = flags.scenarios.split(',');
const connectionCounts = flags.connections.split(',').map(Number);
const MOUNT = '/t/acme.com/shop';

/** Starts one configuration; resolves with its port and pids once it printed its ready line. */
function start(mode) {
  const front = spawn(process.execPath, [new URL('./front.mjs', import.meta.url).pathname, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    front.once('exit', (code) => reject(new Error(`${mode} exited early (${code})`)));
    front.stdout.once('data', (line) => resolve({ front, ...JSON.parse(String(line)) }));
  });
}

const results = [];
const idle = {};
for (let round = 1; round <= Number(flags.rounds); round++) {
  for (const mode of modes) {
    const run = await start(mode);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    idle[mode] ??= [];
    idle[mode].push({
      app: rssMiB(run.appPid),
      front: run.frontPid === run.appPid ? null : rssMiB(run.frontPid),
    });
    for (const scenario of scenarios) {
      for (const connections of connectionCounts) {
        const url = `http://127.0.0.1:${run.port}${mode === 'bare' ? '' : MOUNT}/${scenario}`;
        wrk(url, connections, Number(flags.warmup));
        const load = loadavg()[0].toFixed(2);
        const figures = wrk(url, connections, Number(flags.duration));
        const row = { round, mode, scenario, connections, load, ...figures };
        results.push(row);
        if (flags.json) appendFileSync(flags.json, `${JSON.stringify(row)}\n`);
        console.error(JSON.stringify(row));
      }
    }
    run.front.removeAllListeners('exit');
    run.front.kill('SIGTERM');
    await new Promise((resolve) => run.front.once('exit', resolve));
  }
}

// Per configuration: each round's figure, and the ratio to bare node:http in the same round.
console.log(
  '| scenario | conns | config | req/s per round | vs bare | p50 ms | p99 ms | p99 vs bare | load (1 min) | errors |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const scenario of scenarios) {
  for (const connections of connectionCounts) {
    for (const mode of modes) {
      const rows = results.filter(
        (r) => r.mode === mode && r.scenario === scenario && r.connections === connections,
      );
      const bare = (round) =>
        results.find(
          (r) =>
            r.mode === 'bare' &&
            r.round === round &&
            r.scenario === scenario &&
            r.connections === connections,
        );
      const ratio = (r, key) => (bare(r.round) ? (r[key] / bare(r.round)[key]).toFixed(2) : '-');
      const list = (fn) => rows.map(fn).join(' / ');
      console.log(
        `| ${scenario} | ${connections} | ${mode} | ${list((r) => Math.round(r.rps))} | ${list((r) => ratio(r, 'rps'))} | ${list((r) => r.p50.toFixed(2))} | ${list((r) => r.p99.toFixed(2))} | ${list((r) => ratio(r, 'p99'))} | ${list((r) => r.load)} | ${list((r) => r.errors)} |`,
      );
    }
  }
}
console.log('\n| config | idle RSS of the app process (MiB) | idle RSS of the front (MiB) |\n|---|---|---|');
for (const mode of modes) {
  const list = (key) => idle[mode].map((i) => (i[key] === null ? '-' : i[key].toFixed(1))).join(' / ');
  console.log(`| ${mode} | ${list('app')} | ${list('front')} |`);
}
