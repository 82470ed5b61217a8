// What the wrk-driven benches share (bench/apps, bench/apps-transport): running wrk and reading its figures,
// and a process's resident memory.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A process's resident memory in MiB, from /proc. */
export function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

/** Converts wrk's "1.23ms" / "456.00us" / "1.02s" to milliseconds. */
export function ms(text) {
  const [, value, unit] = /([\d.]+)(us|ms|s)/.exec(text);
  return Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];
}

/** wrk with 2 threads against `url`: requests/s, p50 and p99 in ms, and the non-2xx/3xx and socket errors. */
export function wrk(url, connections, seconds) {
  const out = execFileSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', url], {
    encoding: 'utf8',
  });
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0');
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1] ?? '';
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]),
    p50: ms(/ 50%\s+(\S+)/.exec(out)[1]),
    p99: ms(/ 99%\s+(\S+)/.exec(out)[1]),
    errors: `${errors}${socketErrors ? ` (${socketErrors})` : ''}`,
  };
}
