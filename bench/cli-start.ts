/**
 * How long the CLI takes to answer `tessera version` and `tessera --help`, against a bare `node -e 0`, as
 * absolute wall time and as a ratio to node's own start. Each process is spawned `--runs` times (after one
 * warm-up run each, so the file cache is warm) and the median is reported.
 *
 *   npm run bench:cli-start -- [--runs 15]
 *
 * Needs the compiled CLI (the npm script builds first).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a whole number of at least 1');

const CLI = path.resolve('bin/tessera.js');
const GOAL_MS = 300;

const cases: { label: string; args: string[] }[] = [
  { label: 'node -e 0', args: ['-e', '0'] },
  { label: 'tessera version', args: [CLI, 'version'] },
  { label: 'tessera --help', args: [CLI, '--help'] },
];

function timeOnce(args: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (index: number) => sorted[index] ?? Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
}

const medians = new Map<string, number>();
for (const { label, args } of cases) {
  timeOnce(args);
  medians.set(label, median(Array.from({ length: runs }, () => timeOnce(args))));
}

const baseline = medians.get('node -e 0') ?? Number.NaN;
process.stdout.write(`median of ${runs} runs each, Node ${process.version}\n\n`);
process.stdout.write('| command | median | ratio to node -e 0 | goal |\n| --- | --- | --- | --- |\n');
for (const [label, ms] of medians) {
  const goal = label === 'node -e 0' ? '' : `< ${GOAL_MS} ms: ${ms < GOAL_MS ? 'met' : 'MISSED'}`;
  process.stdout.write(`| \`${label}\` | ${ms.toFixed(0)} ms | ${(ms / baseline).toFixed(1)} | ${goal} |\n`);
}
