import type { ConfigFormat } from '../../config/config-format.js';
import { parseConfig } from '../../config/load.js';
import { CONFIG_FORMAT, DEFAULT_DATABASE_URL } from '../../config/schema.js';
import { isTesseraError, TesseraError } from '../../errors.js';
import { applyHop } from './apply.js';
import { displayKnownValue } from './display.js';
import { configFormatOf, flattenConfig, parseConfigDocument } from './flatten.js';
import { hopsBetween } from './hops.js';
import { renderConfig } from './render.js';
import type { ConfigChange } from './types.js';

export interface ConfigUpgradeInput {
  /** The old config's text, as read from the old home. */
  source: string;
  /** That text already parsed (the upgrade reads the old config once); parsed here when absent. */
  document?: Record<string, unknown>;
  /** Its path, for messages. */
  file: string;
  /** The format to reach: the target release's. */
  targetFormat: ConfigFormat;
  /** The database the new config points at: the upgraded (staging) one, as the new home resolves it. */
  databaseUrl: string;
}

export interface ConfigUpgrade {
  sourceFormat: ConfigFormat;
  targetFormat: ConfigFormat;
  /** Every key of every hop, then the switch to the upgraded database; secrets masked. */
  changes: ConfigChange[];
  /** The operator's keys that were dropped because no release knew them, one sentence each. */
  warnings: string[];
  /** The new `conf/tessera.toml`, with comments; validated when the target is the current format. */
  text: string;
}

/** The hop label of the database switch in the report. */
export const STAGING_SWITCH = 'staging';

const SWITCH_NOTE = 'now the upgraded (staging) database; the old production database is retired at promote';
const KEPT_NOTE =
  "the same text, read from the new home: the upgraded (staging) database; the old home's is retired at promote";

/**
 * Turns an old release's config into the target format by the explicit rules of each hop (never a copy),
 * points it at the upgraded database, and reports every key. Pure: reads and writes no file.
 */
export function upgradeConfig(input: ConfigUpgradeInput): ConfigUpgrade {
  const document = input.document ?? parseConfigDocument(input.source, input.file);
  const sourceFormat = configFormatOf(document, input.file);
  let config = flattenConfig(document);
  const changes: ConfigChange[] = [];
  const hops = hopsBetween(sourceFormat, input.targetFormat);
  for (const hop of hops) {
    const result = applyHop(config, hop);
    config = result.config;
    changes.push(...result.changes);
  }
  if (hops.length === 0) {
    const hop = `${sourceFormat} -> ${input.targetFormat}`;
    for (const [key, entry] of config)
      changes.push({ kind: 'carried', hop, key, value: displayKnownValue(key, entry.value) });
  }

  const previous = config.get('database.url');
  config.set('database.url', { value: input.databaseUrl, origin: previous?.origin, note: SWITCH_NOTE });
  changes.push(databaseSwitch(previous?.value, input.databaseUrl));

  const text = renderConfig(config, {
    sourceFormat,
    header: [
      `Tessera ${input.targetFormat} configuration, written by tessera upgrade from the ${sourceFormat} config`,
      `${input.file}.`,
      'Every key renamed, changed, added or dropped is listed in the upgrade report (tessera upgrade report).',
    ],
  });
  if (input.targetFormat === CONFIG_FORMAT) validate(text, input.file);
  const warnings = changes.flatMap((change) =>
    change.kind === 'dropped' && change.warning
      ? [`${change.from} = ${change.value} was dropped (${change.hop}): ${change.note}.`]
      : [],
  );
  return { sourceFormat, targetFormat: input.targetFormat, changes, warnings, text };
}

/**
 * The report's line for the switch to staging: `changed` when the URL's text changes, `kept` when it stays
 * the same (a relative `sqlite:` path, which the new home resolves to its own file: the staging copy).
 */
function databaseSwitch(before: unknown, after: string): ConfigChange {
  const value = displayKnownValue('database.url', after);
  if (before === after)
    return { kind: 'kept', hop: STAGING_SWITCH, key: 'database.url', value, note: KEPT_NOTE };
  return {
    kind: 'changed',
    hop: STAGING_SWITCH,
    from: 'database.url',
    to: 'database.url',
    before:
      before === undefined
        ? `(not set: ${JSON.stringify(DEFAULT_DATABASE_URL)} of the old home)`
        : displayKnownValue('database.url', before),
    value,
    note: SWITCH_NOTE,
  };
}

/** The new config must load in the new release; a carried value it refuses is the old file's to fix. */
function validate(text: string, oldFile: string): void {
  try {
    parseConfig(text, 'conf/tessera.toml (new)');
  } catch (error) {
    if (!isTesseraError(error, 'CONFIG_INVALID')) throw error;
    throw new TesseraError(
      'CONFIG_INVALID',
      `The ${CONFIG_FORMAT} config made from ${oldFile} would not load: ${error.message}`,
      {
        hint: `Correct the value in ${oldFile} (the upgrade reads it, never writes it) and resume.`,
        cause: error,
      },
    );
  }
}
