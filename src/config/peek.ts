import { parse } from 'smol-toml';
import type { KeyNameOfType } from './keys.js';
import { isTable, Problems } from './problems.js';
import { keyReader } from './read-keys.js';

/**
 * One whole-number key of a config of any release, read as the server reads it: the key table's default
 * when the text is not TOML, leaves the key out, or holds a value the server would refuse. For the
 * upgrade, which looks at an old home's settings without refusing its config.
 */
export function peekInteger(source: string, name: KeyNameOfType<'integer'>): number {
  let document: unknown;
  try {
    document = parse(source);
  } catch {
    document = {};
  }
  return peekIntegerIn(document, source, name);
}

/** `peekInteger` of a config already parsed (`source` is its text, for the reader's bookkeeping only). */
export function peekIntegerIn(document: unknown, source: string, name: KeyNameOfType<'integer'>): number {
  const ignored = new Problems('', source);
  return keyReader(isTable(document) ? document : {}, ignored).integer(name);
}
