import { type ConfigKeySpec, splitKeyName } from './key-spec.js';
import { CONFIG_FORMAT, type ConfigKeyName, configKeyRows } from './keys.js';

/**
 * What a first start writes: every key with its default and the key table's word on it, section by
 * section in the table's order; `values` replaces a default (`tessera init --db` names its own database
 * instead of the embedded one).
 */
export function renderDefaultConfig(values: Partial<Record<ConfigKeyName, unknown>> = {}): string {
  const lines = [
    `# Tessera ${CONFIG_FORMAT} configuration. Keys and defaults: see README.md ("Configuration").`,
  ];
  const blocks: string[] = [];
  let currentSection = '';
  for (const [name, spec] of configKeyRows()) {
    const file = spec.file ?? { write: 'value' };
    if (file.write === 'never') continue;
    if (file.write === 'block') {
      blocks.push('', ...file.lines.map((line) => `# ${line}`));
      continue;
    }
    const { section, key } = splitKeyName(name);
    if (section !== currentSection) {
      lines.push('', `[${section}]`);
      currentSection = section;
    }
    if (file.write === 'example') {
      lines.push(`# ${key} = ${file.example}`);
      continue;
    }
    lines.push(...(file.comment ?? []).map((line) => `# ${line}`));
    lines.push(`${key} = ${tomlValue(name in values ? values[name] : defaultValue(spec))}`);
  }
  return `${[...lines, ...blocks].join('\n')}\n`;
}

function defaultValue(spec: ConfigKeySpec): unknown {
  return 'default' in spec ? spec.default : undefined;
}

/**
 * A TOML literal for the scalars and string arrays of the table. A string is a basic string: JSON's
 * escapes (\\ \" \n \uXXXX ...) are all valid TOML ones; DEL, which JSON leaves as is and TOML refuses
 * raw, is escaped too.
 */
function tomlValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value).replaceAll('\u007f', '\\u007f');
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TypeError(`no default config literal for ${String(value)}`);
}

/** The words of a first start's file, for other writers of a config (the upgrade) to say the same. */
export interface FirstStartWords {
  /** The sections a first start writes, in its order. */
  sectionOrder: readonly string[];
  /** The comment lines above a key written with its value, by dotted name. */
  keyComments: Readonly<Record<string, readonly string[]>>;
  /** The commented-out `key = example` line of an optional key, by dotted name. */
  examples: Readonly<Record<string, string>>;
}

export function firstStartWords(): FirstStartWords {
  const sectionOrder: string[] = [];
  const keyComments: Record<string, readonly string[]> = {};
  const examples: Record<string, string> = {};
  for (const [name, spec] of configKeyRows()) {
    const file = spec.file ?? { write: 'value' };
    if (file.write !== 'value' && file.write !== 'example') continue;
    const { section, key } = splitKeyName(name);
    if (section !== '' && !sectionOrder.includes(section)) sectionOrder.push(section);
    if (file.write === 'example') examples[name] = `${key} = ${file.example}`;
    else if (file.comment) keyComments[name] = file.comment;
  }
  return { sectionOrder, keyComments, examples };
}
