import { parse, TomlError } from 'smol-toml';
import { CONFIG_FORMATS, type ConfigFormat, isConfigFormat } from '../../config/config-format.js';
import { TesseraError } from '../../errors.js';
import type { FlatConfig } from './types.js';

type Table = Record<string, unknown>;

/** Parses a config of any release; parse errors name the line but never quote it (it may hold a password). */
export function parseConfigDocument(source: string, file: string): Table {
  try {
    return parse(source) as Table;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'invalid TOML';
      throw new TesseraError('CONFIG_INVALID', `${file}:${error.line}:${error.column}: ${reason}`, {
        hint: `Fix ${file}; the upgrade reads it but never changes it.`,
      });
    }
    throw error;
  }
}

/** Which release wrote a config: 1.0 had no `format` key. */
export function configFormatOf(document: Table, file: string): ConfigFormat {
  const format = document.format ?? '1.0';
  if (isConfigFormat(format)) return format;
  throw new TesseraError('CONFIG_INVALID', `${file}: unknown config format "${String(format)}".`, {
    hint: `Point --from-home at the home of a Tessera installation whose config format is ${CONFIG_FORMATS.join(', ')}.`,
  });
}

/** Every leaf of the document under its dotted path; each starts as its own origin. */
export function flattenConfig(document: Table): FlatConfig {
  const flat: FlatConfig = new Map();
  const visit = (table: Table, prefix: string) => {
    for (const [key, value] of Object.entries(table)) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (isTable(value)) visit(value, path);
      else flat.set(path, { value, origin: path });
    }
  };
  visit(document, '');
  return flat;
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
