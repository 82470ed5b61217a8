import type { ConfigFormat } from '../../config/config-format.js';
import { firstStartWords } from '../../config/default-file.js';
import { tomlKey, tomlLiteral } from './display.js';
import type { ConfigEntry, FlatConfig } from './types.js';

/** The words a first start's file has on the current format's keys, written above them here too. */
const CURRENT_WORDS = firstStartWords();

export interface RenderOptions {
  /** The header comment's lines, without the `# `. */
  header: readonly string[];
  /** The format the operator's file was in, for the "was ... in the 1.0 config" comments. */
  sourceFormat: ConfigFormat;
}

/**
 * Writes a flat config as TOML: top-level keys, then one table per section, each key with a comment saying
 * where it came from when the upgrade renamed, changed or added it.
 */
export function renderConfig(config: FlatConfig, options: RenderOptions): string {
  const topLevel: [string, ConfigEntry][] = [];
  const sections = new Map<string, [string, ConfigEntry][]>(
    CURRENT_WORDS.sectionOrder.map((name) => [name, []]),
  );
  for (const [path, entry] of config) {
    const dot = path.lastIndexOf('.');
    if (dot === -1) {
      topLevel.push([path, entry]);
      continue;
    }
    const section = path.slice(0, dot);
    sections.set(section, [...(sections.get(section) ?? []), [path, entry]]);
  }

  const lines = options.header.map((line) => `# ${line}`.trimEnd());
  for (const [path, entry] of topLevel) lines.push(...renderKey(path, path, entry, options));
  for (const [section, entries] of sections) {
    const examples = Object.entries(CURRENT_WORDS.examples).filter(
      ([path]) => sectionOf(path) === section && !config.has(path),
    );
    if (entries.length === 0 && examples.length === 0) continue;
    lines.push('', `[${section.split('.').map(tomlKey).join('.')}]`);
    for (const [path, entry] of entries)
      lines.push(...renderKey(path, path.slice(section.length + 1), entry, options));
    for (const [, example] of examples) lines.push(`# ${example}`);
  }
  return `${lines.join('\n')}\n`;
}

function renderKey(path: string, key: string, entry: ConfigEntry, options: RenderOptions): string[] {
  const comments: string[] = [...(CURRENT_WORDS.keyComments[path] ?? [])];
  if (entry.origin === undefined) comments.push(`Added by the upgrade: ${entry.note ?? 'new key'}.`);
  else {
    if (entry.origin !== path) comments.push(`Was ${entry.origin} in the ${options.sourceFormat} config.`);
    if (entry.note) comments.push(`Changed by the upgrade: ${entry.note}.`);
  }
  return [...comments.map((c) => `# ${c}`), `${tomlKey(key)} = ${tomlLiteral(entry.value)}`];
}

function sectionOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('.')));
}
