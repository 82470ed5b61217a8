import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { TesseraError } from '../errors.js';

/** The config formats releases wrote: 1.0 had no `format` key and called the URL `database.dsn`. */
export type ConfigFormat = '1.0' | '1.1' | '2.0';

export interface ConfigSummary {
  format: ConfigFormat;
  databaseUrl: string;
}

/** Reads just enough of a config of any known release to find its database (for status and upgrade plans). */
export function summarizeConfigFile(file: string): ConfigSummary {
  let raw: Record<string, unknown>;
  try {
    raw = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `Cannot read ${file}: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
  const format = raw.format === undefined ? '1.0' : raw.format;
  if (format !== '1.0' && format !== '1.1' && format !== '2.0') {
    throw new TesseraError('CONFIG_INVALID', `${file}: unknown config format "${String(format)}".`);
  }
  const database = (raw.database ?? {}) as Record<string, unknown>;
  const url = format === '1.0' ? database.dsn : database.url;
  return { format, databaseUrl: typeof url === 'string' ? url : 'sqlite:repository/database/tessera.db' };
}
