// Summarises a V8 .cpuprofile (from `node --cpu-prof`) by self time: the functions where the process spent
// its samples, heaviest first, with their file and line, and the same summed per file.
//   node bench/apps/profile-summary.mjs FILE.cpuprofile [--top 40]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' } },
});
const top = Number(values.top);
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const hits = new Map();
  // timeDeltas[i] is the time before samples[i]: weighs each sample by the time it stood for.
  profile.samples.forEach((id, i) => {
    hits.set(id, (hits.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...hits.values()].reduce((a, b) => a + b, 0);
  const perFunction = new Map();
  const perFile = new Map();
  for (const [id, micros] of hits) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const where = url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '~/');
    const key = `${functionName || '(anonymous)'}  ${where}:${lineNumber + 1}`;
    perFunction.set(key, (perFunction.get(key) ?? 0) + micros);
    const fileKey = where || functionName;
    perFile.set(fileKey, (perFile.get(fileKey) ?? 0) + micros);
  }
  const print = (title, map) => {
    console.log(`\n${title} (${(total / 1e6).toFixed(1)} s sampled)`);
    for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${key}`);
    }
  };
  console.log(`== ${file}`);
  print('self time per function', perFunction);
  print('self time per file', perFile);
}
