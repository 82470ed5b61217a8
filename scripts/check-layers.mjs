#!/usr/bin/env node
// Fails when a module imports from a room above its own. The rooms and their order are those of
// docs/architecture.md: a room may import only rooms of a lower layer (and itself), so that the
// composition root (server) and the command line (cli) are the only places that see everything.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Lowest first. Rooms on one line are peers: they may not import each other. */
export const LAYERS = [
  ['(root)'],
  ['home', 'progress'],
  ['db'],
  ['registry'],
  ['config'],
  ['releases'],
  ['cluster', 'telemetry'],
  ['cache', 'maintenance'],
  ['userstores', 'webapps'],
  ['tenants'],
  ['identity', 'transfer', 'upgrade'],
  ['http'],
  ['server'],
  ['cli'],
];

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** The room of a file below `src/`: its first folder, or `(root)` for a file directly in `src/`. */
export function roomOf(srcRelative) {
  const parts = srcRelative.split(/[\\/]/);
  return parts.length > 1 ? parts[0] : '(root)';
}

export function layerOf(room) {
  const index = LAYERS.findIndex((rooms) => rooms.includes(room));
  return index === -1 ? undefined : index;
}

/** Every import of `srcDir`'s TypeScript files that points at a room not below the importer's own. */
export function findUpwardImports(srcDir) {
  const problems = [];
  const files = readdirSync(srcDir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const from = roomOf(file);
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) {
      problems.push(
        `${path.join('src', file)}: room "${from}" is not in any layer (scripts/check-layers.mjs)`,
      );
      continue;
    }
    const lines = readFileSync(path.join(srcDir, file), 'utf8').split('\n');
    lines.forEach((line, index) => {
      for (const match of line.matchAll(IMPORT)) {
        const target = path.relative(srcDir, path.resolve(srcDir, path.dirname(file), match[2]));
        if (target.startsWith('..')) {
          problems.push(`${path.join('src', file)}:${index + 1}: imports ${match[2]}, outside src/`);
          continue;
        }
        const to = roomOf(target);
        if (to === from) continue;
        const toLayer = layerOf(to);
        if (toLayer === undefined || toLayer >= fromLayer) {
          problems.push(`${path.join('src', file)}:${index + 1}: ${from} imports ${to} (${match[2]})`);
        }
      }
    });
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const srcDir = path.resolve(process.argv[2] ?? 'src');
  const problems = findUpwardImports(srcDir);
  if (problems.length > 0) {
    process.stderr.write(
      `${problems.join('\n')}\n\n${problems.length} import(s) against the layering of docs/architecture.md.\n` +
        'A room imports only rooms below it: move the shared piece down, or pass it in from the room above.\n',
    );
    process.exit(1);
  }
  process.stdout.write(`imports point down: ${LAYERS.flat().length} rooms checked\n`);
}
