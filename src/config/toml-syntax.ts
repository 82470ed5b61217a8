import type { TomlError } from 'smol-toml';
import { TesseraError } from '../errors.js';

/**
 * The refusal for a config that is not valid TOML: where (file, line, column), what the parser saw, and the
 * `next:` step every CLI refusal prints, so `tessera start` and `tessera status` say the same thing.
 */
export function tomlSyntaxRefusal(file: string, error: TomlError): TesseraError {
  return new TesseraError(
    'CONFIG_INVALID',
    `${file}:${error.line}:${error.column}: ${error.message.split('\n')[0]}`,
    {
      hint: `Fix the TOML syntax at line ${error.line} of ${file} (a key = value per line, strings in double quotes), then run the command again.`,
      cause: error,
    },
  );
}
