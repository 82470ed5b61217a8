/**
 * The shape of one row of the config key table (keys.ts): what the loader accepts and assumes, what a first
 * start writes, and what README.md says. One row per key, so that a default or a bound is written once.
 */

/** What every row says, whatever the key's type. */
interface KeyDocs {
  /** The release whose config first had the key under this name. */
  since: string;
  /** What the key does, as README.md's "Configuration" table says it. */
  description: string;
  /** How a first start's `conf/tessera.toml` writes the key; `{ write: 'value' }` when left out. */
  file?: FileEntry;
}

/** How the default config file shows a key. */
export type FileEntry =
  /** `key = default`, under the comment lines. */
  | { write: 'value'; comment?: readonly string[] }
  /** Commented out under its section's header: `# key = example`. */
  | { write: 'example'; example: string }
  /** A comment block of its own after the sections (an array of tables has no `[section]` to sit under). */
  | { write: 'block'; lines: readonly string[] }
  /** Not in the file at all: the feature is off until the operator adds the section. */
  | { write: 'never' };

/** The top-level `format` marker: exactly one value, the format this release reads. */
export interface FormatKey extends KeyDocs {
  type: 'format';
  default: string;
}

/** A whole number within [min, max]. */
export interface IntegerKey extends KeyDocs {
  type: 'integer';
  default: number;
  min: number;
  max: number;
  /** What the number counts (`seconds`, `MiB`), for the README. */
  unit?: string;
  /** Another integer key this one may not exceed (checked after both are read). */
  atMost?: string;
}

/** A non-empty string. */
export interface StringKey extends KeyDocs {
  type: 'string';
  default: string;
}

/** One of a fixed list of strings. */
export interface ChoiceKey extends KeyDocs {
  type: 'choice';
  default: string;
  choices: readonly string[];
}

export interface BooleanKey extends KeyDocs {
  type: 'boolean';
  default: boolean;
}

/** A string that may be left out (or empty): the feature it names is then off. */
export interface OptionalStringKey extends KeyDocs {
  type: 'optional-string';
}

/** Database hosts, each `host` or `host:port` (an IPv6 address in brackets). */
export interface HostListKey extends KeyDocs {
  type: 'host-list';
  default: readonly string[];
}

/** `[[registry.mounts]]`: an array of tables of exactly `path` and `url`. */
export interface MountsKey extends KeyDocs {
  type: 'mounts';
}

export type ConfigKeySpec =
  | FormatKey
  | IntegerKey
  | StringKey
  | ChoiceKey
  | BooleanKey
  | OptionalStringKey
  | HostListKey
  | MountsKey;

/** `section.key` split into the section (empty for a top-level key) and the key's own name. */
export function splitKeyName(name: string): { section: string; key: string } {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? { section: '', key: name } : { section: name.slice(0, dot), key: name.slice(dot + 1) };
}
