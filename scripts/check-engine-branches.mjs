#!/usr/bin/env node
// Fails when code outside the dialects branches on an engine's name ('sqlite', 'postgres', 'mysql' compared
// with ===, !==, == or != , or as a `case`): every engine difference belongs behind the Dialect interface
// (src/db/dialect.ts), as a method or a capability, so that callers ask what an engine can, never which it is.
// Usage: node scripts/check-engine-branches.mjs [FOLDER] (default: src beside this script). Plain Node, no
// dependency, so that CI runs it before anything is built.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(
  process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src'),
);

/** Paths (relative to the folder checked) where engine names belong: the dialects, and the URL parser. */
const ALLOWED = ['db/dialects/', 'db/url.ts'];
const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;
const ENGINE = String.raw`['"\x60](?:sqlite|postgres|mysql)['"\x60]`;
const COMPARED = new RegExp(
  String.raw`(?:[!=]==?\s*${ENGINE})|(?:${ENGINE}\s*[!=]==?)|(?:\bcase\s+${ENGINE}\s*:)`,
);

function* sourceFiles(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') yield* sourceFiles(full);
    } else if (entry.isFile() && SOURCE.test(entry.name)) yield full;
  }
}

const leaks = [];
for (const file of sourceFiles(root)) {
  const relative = path.relative(root, file).split(path.sep).join('/');
  if (ALLOWED.some((allowed) => relative === allowed || relative.startsWith(allowed))) continue;
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, index) => {
    const code = line.trimStart();
    // Comments may name engines freely; only code that branches on one is a leak.
    if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return;
    if (COMPARED.test(line)) leaks.push(`${path.relative(process.cwd(), file)}:${index + 1}: ${code}`);
  });
}

if (leaks.length > 0) {
  process.stderr.write(
    `${leaks.join('\n')}\n\n${leaks.length} comparison(s) with an engine's name outside src/db/dialects/ and src/db/url.ts.\n` +
      'Ask the dialect instead (a Dialect or DialectModule method or capability in src/db/dialect.ts), or whether the target names a file.\n',
  );
  process.exit(1);
}
