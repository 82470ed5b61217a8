import { existsSync, readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { TesseraError } from '../errors.js';
import { CONFIG_KEYS } from './keys.js';
import { tomlSyntaxRefusal } from './toml-syntax.js';

/** The config formats releases wrote, oldest first: 1.0 had no `format` key and called the URL `database.dsn`. */
export const CONFIG_FORMATS = ['1.0', '1.1', '2.0', '2.1'] as const;

export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

export interface ConfigSummary {
  format: ConfigFormat;
  databaseUrl: string;
}

/** A config file of any known release, read and parsed once: its text, its document and what it names. */
export interface ConfigFileContents extends ConfigSummary {
  file: string;
  source: string;
  document: Record<string, unknown>;
}

/** Reads just enough of a config of any known release to find its database (for status and upgrade plans). */
export function summarizeConfigFile(file: string): ConfigSummary {
  const { format, databaseUrl } = readConfigFile(file);
  return { format, databaseUrl };
}

/** Reads and parses a config of any known release, without applying this release's rules to it. */
export function readConfigFile(file: string): ConfigFileContents {
  if (!existsSync(file)) {
    // Most often a mistyped --home (or TESSERA_HOME), or a command run from another folder.
    throw new TesseraError('CONFIG_INVALID', `No Tessera home here: ${file} does not exist.`, {
      hint: 'Name the home folder that holds conf/tessera.toml (--home, or --from-home for an upgrade; else TESSERA_HOME); tessera start --home DIR lays out a new home.',
    });
  }
  let raw: Record<string, unknown>;
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
    raw = parse(source) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) throw tomlSyntaxRefusal(file, error);
    throw new TesseraError(
      'CONFIG_INVALID',
      `Cannot read ${file}: ${(error as Error).message.split('\n')[0]}`,
      { cause: error, hint: `Make ${file} readable by the account running tessera.` },
    );
  }
  const format = raw.format === undefined ? '1.0' : raw.format;
  if (!isConfigFormat(format)) {
    throw new TesseraError('CONFIG_INVALID', `${file}: unknown config format "${String(format)}".`, {
      hint: `Fix the format key (${CONFIG_FORMATS.join(', ')}), or run the newer Tessera release that wrote this config.`,
    });
  }
  const database = (raw.database ?? {}) as Record<string, unknown>;
  const url = format === '1.0' ? database.dsn : database.url;
  const databaseUrl = typeof url === 'string' ? url : CONFIG_KEYS['database.url'].default;
  return { file, source, document: raw, format, databaseUrl };
}

export function isConfigFormat(value: unknown): value is ConfigFormat {
  return CONFIG_FORMATS.some((format) => format === value);
}
