#!/usr/bin/env node
// Writes test/durations.json (each test file's duration in seconds) from vitest's cache of the last run, for
// test/longest-first-sequencer.ts. Run it after a full `npm test` on an otherwise idle machine.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const cacheRoot = 'node_modules/.vite/vitest';
const table = {};
for (const folder of readdirSync(cacheRoot)) {
  const cache = JSON.parse(readFileSync(path.join(cacheRoot, folder, 'results.json'), 'utf8'));
  for (const [key, result] of cache.results) {
    const file = key.slice(key.indexOf(':') + 1);
    if (result.duration > 0) table[file] = Math.round(result.duration / 100) / 10;
  }
}
const sorted = Object.fromEntries(Object.entries(table).sort(([, a], [, b]) => b - a));
writeFileSync('test/durations.json', `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`test/durations.json: ${Object.keys(sorted).length} files`);
