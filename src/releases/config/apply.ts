import { TesseraError } from '../../errors.js';
import { displayKnownValue, displayUnknownValue } from './display.js';
import { hopLabel } from './hops.js';
import type { ConfigChange, ConfigEntry, FlatConfig, HopRules } from './types.js';

/** Runs one hop's rules over a config: every key is accounted for in the returned changes. */
export function applyHop(config: FlatConfig, hop: HopRules): { config: FlatConfig; changes: ConfigChange[] } {
  const label = hopLabel(hop);
  const next: FlatConfig = new Map();
  const changes: ConfigChange[] = [];
  const put = (key: string, entry: ConfigEntry) => {
    // Two rules of one table aiming at the same key is a mistake in the table, not in the operator's file.
    if (next.has(key)) throw new TesseraError('INTERNAL', `Config rules ${label} write ${key} twice.`);
    next.set(key, entry);
  };

  for (const [key, entry] of config) {
    const rule = hop.keys[key];
    if (rule === undefined) {
      changes.push({
        kind: 'dropped',
        hop: label,
        from: key,
        value: displayUnknownValue(key, entry.value),
        note: `not a ${hop.from} key: Tessera ${hop.from} never read it, and ${hop.to} has no place for it`,
        warning: true,
      });
      continue;
    }
    switch (rule.action) {
      case 'carry':
        put(key, entry);
        changes.push({ kind: 'carried', hop: label, key, value: displayKnownValue(key, entry.value) });
        break;
      case 'rename':
        put(rule.to, entry);
        changes.push({
          kind: 'renamed',
          hop: label,
          from: key,
          to: rule.to,
          value: displayKnownValue(rule.to, entry.value),
        });
        break;
      case 'change': {
        const value = rule.convert(entry.value);
        // A rule that found the value it would write already there changed nothing but, maybe, the key's
        // name: the report says `carried` or `renamed`, never `changed` with the same value on both sides.
        if (displayKnownValue(rule.to, value) === displayKnownValue(key, entry.value)) {
          put(rule.to, rule.to === key ? entry : { ...entry, value });
          changes.push(
            rule.to === key
              ? { kind: 'carried', hop: label, key, value: displayKnownValue(key, value) }
              : {
                  kind: 'renamed',
                  hop: label,
                  from: key,
                  to: rule.to,
                  value: displayKnownValue(rule.to, value),
                },
          );
          break;
        }
        put(rule.to, { value, origin: entry.origin, note: rule.why });
        changes.push({
          kind: 'changed',
          hop: label,
          from: key,
          to: rule.to,
          before: displayKnownValue(key, entry.value),
          value: displayKnownValue(rule.to, value),
          note: rule.why,
        });
        break;
      }
      case 'drop':
        changes.push({
          kind: 'dropped',
          hop: label,
          from: key,
          value: displayKnownValue(key, entry.value),
          note: rule.why,
          warning: false,
        });
        break;
    }
  }

  for (const fill of hop.defaults) {
    if (next.has(fill.key)) continue;
    next.set(fill.key, { value: fill.value, origin: undefined, note: fill.why });
    changes.push({
      kind: 'defaulted',
      hop: label,
      key: fill.key,
      value: displayKnownValue(fill.key, fill.value),
      note: fill.why,
    });
  }
  return { config: next, changes };
}
