import { type ConfigKeySpec, type IntegerKey, splitKeyName } from './key-spec.js';
import { CONFIG_KEYS, type ConfigKeyName, type KeyNameOfType } from './keys.js';
import { isTable, type Problems, type Table } from './problems.js';

type ChoiceName = KeyNameOfType<'choice'>;
type ChoiceOf<K extends ChoiceName> = (typeof CONFIG_KEYS)[K]['choices'][number];

/**
 * Reads the keys of a parsed 2.0 config by their rows in the key table: a key left out takes the row's
 * default; a bad value is listed in `problems` and the default is used, so that every problem of the
 * file is found in one pass rather than one at a time.
 */
export function keyReader(document: Table, problems: Problems) {
  const integers = new Map<string, number>();
  const lookUp = (name: ConfigKeyName) => {
    const { section, key } = splitKeyName(name);
    const table = section === '' ? document : document[section];
    return { value: isTable(table) ? table[key] : undefined, keyPath: name.split('.') };
  };

  return {
    integer(name: KeyNameOfType<'integer'>): number {
      const spec: IntegerKey = CONFIG_KEYS[name];
      const { value, keyPath } = lookUp(name);
      let result = spec.default;
      if (value !== undefined) {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min || value > spec.max)
          problems.add(keyPath, `must be a whole number from ${spec.min} to ${spec.max}`);
        else result = value;
      }
      integers.set(name, result);
      return result;
    },

    string(name: KeyNameOfType<'string'>): string {
      const { value, keyPath } = lookUp(name);
      if (value === undefined) return CONFIG_KEYS[name].default;
      if (typeof value !== 'string' || value.length === 0) {
        problems.add(keyPath, 'must be a non-empty string');
        return CONFIG_KEYS[name].default;
      }
      return value;
    },

    optionalString(name: KeyNameOfType<'optional-string'>): string | undefined {
      const { value, keyPath } = lookUp(name);
      if (value === undefined || value === '') return undefined;
      if (typeof value !== 'string') {
        problems.add(keyPath, 'must be a string');
        return undefined;
      }
      return value;
    },

    boolean(name: KeyNameOfType<'boolean'>): boolean {
      const { value, keyPath } = lookUp(name);
      if (value === undefined) return CONFIG_KEYS[name].default;
      if (typeof value !== 'boolean') {
        problems.add(keyPath, 'must be true or false');
        return CONFIG_KEYS[name].default;
      }
      return value;
    },

    choice<K extends ChoiceName>(name: K): ChoiceOf<K> {
      const spec = CONFIG_KEYS[name];
      const choices: readonly string[] = spec.choices;
      const { value, keyPath } = lookUp(name);
      if (value === undefined) return spec.default as ChoiceOf<K>;
      if (typeof value !== 'string' || !choices.includes(value)) {
        problems.add(keyPath, `must be one of ${choices.map((c) => `"${c}"`).join(', ')}`);
        return spec.default as ChoiceOf<K>;
      }
      return value as ChoiceOf<K>;
    },

    /** Host names or addresses, each optionally with `:port` (an IPv6 address in brackets). */
    hostList(name: KeyNameOfType<'host-list'>): string[] {
      const { value, keyPath } = lookUp(name);
      if (value === undefined) return [...CONFIG_KEYS[name].default];
      const hosts = Array.isArray(value) ? value : [];
      const valid = hosts.every(
        (h) => typeof h === 'string' && /^(\[[0-9a-fA-F:.]+\]|[^\s:/@[\]]+)(:\d{1,5})?$/.test(h),
      );
      if (!Array.isArray(value) || !valid) {
        problems.add(keyPath, 'must be an array of host names or addresses, each optionally with :port');
        return [...CONFIG_KEYS[name].default];
      }
      return hosts as string[];
    },

    /**
     * The `atMost` rule of every integer key of `section` read so far: called once the section is read,
     * so that the values compared are the ones the config will hold (a bad value's default included).
     */
    checkLimits(section: string): void {
      for (const [name, spec] of Object.entries(CONFIG_KEYS) as [string, ConfigKeySpec][]) {
        if (spec.type !== 'integer' || spec.atMost === undefined) continue;
        if (splitKeyName(name).section !== section) continue;
        const value = integers.get(name);
        const limit = integers.get(spec.atMost);
        if (value !== undefined && limit !== undefined && value > limit)
          problems.add(name.split('.'), `(${value}) must not exceed ${spec.atMost} (${limit})`);
      }
    },
  };
}
