import { parseDatabaseUrl } from '../db/url.js';
import { normaliseRegistryPath } from '../registry/paths.js';
import { locateKey } from './locate.js';
import { isTable, type Problems, type Table } from './problems.js';

const MOUNT_KEYS = ['path', 'url'];

/** `[[registry.mounts]]`: each entry exactly `path` (a registry path) and `url` (a database URL), paths unique. */
export function readMounts(
  registry: Table,
  source: string,
  problems: Problems,
): { path: string; url: string }[] {
  const value = registry.mounts;
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(['registry', 'mounts'], 'must be an array of tables ([[registry.mounts]])');
    return [];
  }
  const mounts: { path: string; url: string }[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of value.entries()) {
    const label = `registry.mounts[${index + 1}]`;
    const at = (key?: string) => locateMountKey(source, index, key);
    if (!isTable(entry)) {
      problems.addAt(at(), label, 'must be a table with path and url');
      continue;
    }
    for (const key of Object.keys(entry))
      if (!MOUNT_KEYS.includes(key)) problems.addAt(at(key), `${label}.${key}`, 'is not a known key');
    let ok = true;
    let mountPath = '';
    if (typeof entry.path !== 'string' || entry.path === '') {
      problems.addAt(at('path'), `${label}.path`, 'must be a non-empty string');
      ok = false;
    } else {
      try {
        mountPath = normaliseRegistryPath(entry.path);
        if (seen.has(mountPath)) {
          problems.addAt(at('path'), `${label}.path`, `mounts ${mountPath} a second time`);
          ok = false;
        }
        seen.add(mountPath);
      } catch (error) {
        problems.addAt(at('path'), `${label}.path`, `is not a registry path: ${(error as Error).message}`);
        ok = false;
      }
    }
    if (typeof entry.url !== 'string' || entry.url === '') {
      problems.addAt(at('url'), `${label}.url`, 'must be a non-empty string');
      ok = false;
    } else {
      try {
        parseDatabaseUrl(entry.url, '.');
      } catch (error) {
        problems.addAt(at('url'), `${label}.url`, `is not a database URL: ${(error as Error).message}`);
        ok = false;
      }
    }
    if (ok) mounts.push({ path: mountPath, url: entry.url as string });
  }
  return mounts;
}

/** The line of the `index`-th `[[registry.mounts]]` header, or of `key` inside it; else of `mounts =`. */
function locateMountKey(source: string, index: number, key?: string): number | undefined {
  const lines = source.split(/\r?\n/);
  let count = -1;
  let header: number | undefined;
  for (const [n, raw] of lines.entries()) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      if (header !== undefined) break;
      if (/^\[\[\s*registry\.mounts\s*\]\]/.test(line) && ++count === index) header = n + 1;
      continue;
    }
    if (header !== undefined && key && new RegExp(`^"?${key}"?\\s*=`).test(line)) return n + 1;
  }
  return header ?? locateKey(source, ['registry', 'mounts']);
}
