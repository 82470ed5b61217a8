import type { ConfigFormat } from '../../config/config-format.js';
import { tomlLiteral } from './display.js';
import type { ConfigEntry, FlatConfig } from './types.js';

/** A word on a section or key of the current format, written above it (the same words as a first start's file). */
interface Docs {
  sections: Readonly<Record<string, string>>;
  keys: Readonly<Record<string, string>>;
  /** Commented-out examples for optional keys that are absent. */
  examples: Readonly<Record<string, string>>;
}

const CURRENT_DOCS: Docs = {
  sections: {
    database: 'sqlite:PATH (relative to the home), postgres://user@host:port/db or mysql://user@host:port/db',
  },
  keys: { 'server.port': 'The PORT environment variable overrides this.' },
  examples: { 'cache.redis': 'redis = "redis://127.0.0.1:6379"' },
};

/** The sections in the order a first start's file has them; other sections follow in the order met. */
const SECTION_ORDER = ['server', 'database', 'security', 'logging', 'cluster', 'cache', 'deployment'];

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

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
  const sections = new Map<string, [string, ConfigEntry][]>(SECTION_ORDER.map((name) => [name, []]));
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
    const examples = Object.entries(CURRENT_DOCS.examples).filter(
      ([path]) => sectionOf(path) === section && !config.has(path),
    );
    if (entries.length === 0 && examples.length === 0) continue;
    lines.push('', `[${section.split('.').map(quoteKey).join('.')}]`);
    const doc = CURRENT_DOCS.sections[section];
    if (doc) lines.push(`# ${doc}`);
    for (const [path, entry] of entries)
      lines.push(...renderKey(path, path.slice(section.length + 1), entry, options));
    for (const [, example] of examples) lines.push(`# ${example}`);
  }
  return `${lines.join('\n')}\n`;
}

function renderKey(path: string, key: string, entry: ConfigEntry, options: RenderOptions): string[] {
  const comments: string[] = [];
  const doc = CURRENT_DOCS.keys[path];
  if (doc) comments.push(doc);
  if (entry.origin === undefined) comments.push(`Added by the upgrade: ${entry.note ?? 'new key'}.`);
  else {
    if (entry.origin !== path) comments.push(`Was ${entry.origin} in the ${options.sourceFormat} config.`);
    if (entry.note) comments.push(`Changed by the upgrade: ${entry.note}.`);
  }
  return [...comments.map((c) => `# ${c}`), `${quoteKey(key)} = ${tomlLiteral(entry.value)}`];
}

function sectionOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('.')));
}

function quoteKey(key: string): string {
  return BARE_KEY.test(key) ? key : JSON.stringify(key);
}
