/**
 * Finds the 1-based line where `section.key` (or a top-level `key`) is written in a TOML source, so that
 * validation errors point at a line like parse errors do. Good enough for the flat files Tessera writes.
 */
export function locateKey(source: string, keyPath: readonly string[]): number | undefined {
  const lines = source.split(/\r?\n/);
  const key = keyPath.at(-1);
  const section = keyPath.slice(0, -1).join('.');
  let current = '';
  let sectionLine: number | undefined;
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    const header = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      current = header[1] ?? '';
      if (current === keyPath.join('.')) return index + 1;
      if (current === section) sectionLine = index + 1;
      continue;
    }
    const assignment = /^("?)([A-Za-z0-9_.-]+)\1\s*=/.exec(line);
    if (assignment && current === section && assignment[2] === key) return index + 1;
  }
  return sectionLine;
}
