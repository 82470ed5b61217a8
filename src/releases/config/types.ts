import type { ConfigFormat } from '../../config/config-format.js';

/**
 * One key of a config while it is carried from format to format: its value, the dotted path it had in the
 * operator's file (undefined for a key the upgrade added) and, when a rule changed it, why.
 */
export interface ConfigEntry {
  value: unknown;
  origin: string | undefined;
  note?: string;
}

/** A config flattened to dotted key paths (`format`, `server.port`), in the order the file wrote them. */
export type FlatConfig = Map<string, ConfigEntry>;

/** What one hop does with one key of the older format. */
export type KeyRule =
  /** Kept under the same name with the same value. */
  | { action: 'carry' }
  /** Same value, new name. */
  | { action: 'rename'; to: string }
  /** A new value (and possibly a new name) computed from the old one; `why` goes into the report. */
  | { action: 'change'; to: string; convert: (value: unknown) => unknown; why: string }
  /** The newer format has no place for it. */
  | { action: 'drop'; why: string };

/** A key of the newer format that no rule produced, and the value an upgraded home starts with. */
export interface DefaultRule {
  key: string;
  value: unknown;
  why: string;
}

/**
 * The explicit rules of one config hop. `keys` lists every key the older format knows: a key found in a
 * file but absent here is one the release never read, and is dropped with a warning.
 */
export interface HopRules {
  from: ConfigFormat;
  to: ConfigFormat;
  keys: Readonly<Record<string, KeyRule>>;
  defaults: readonly DefaultRule[];
}

/**
 * One line of the config report. Values are display strings (TOML literals) with any secret masked;
 * `hop` is `1.0 -> 1.1`-style, or `staging` for the switch to the upgraded database.
 */
export type ConfigChange =
  | { kind: 'renamed'; hop: string; from: string; to: string; value: string }
  | { kind: 'changed'; hop: string; from: string; to: string; before: string; value: string; note: string }
  | { kind: 'defaulted'; hop: string; key: string; value: string; note: string }
  | { kind: 'dropped'; hop: string; from: string; value: string; note: string; warning: boolean }
  | { kind: 'carried'; hop: string; key: string; value: string }
  /** The switch to staging left the text as it was (a relative SQLite path now resolves in the new home). */
  | { kind: 'kept'; hop: string; key: string; value: string; note: string };

export type ConfigChangeKind = ConfigChange['kind'];
