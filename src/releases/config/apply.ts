import { TesseraError } from '../../errors.js';
import { displayKnownValue, displayUnknownValue } from './display.js';
import { hopLabel } from './hops.js';
import type { ConfigChange, ConfigEntry, FlatConfig, HopRules, KeyRule } from './types.js';

/** Runs one hop's rules over a config: every key is accounted for in the returned changes. */
export function applyHop(config: FlatConfig, hop: HopRules): { config: FlatConfig; changes: ConfigChange[] } {
  const out = new HopOutput(hopLabel(hop));
  for (const [key, entry] of config) {
    const rule = hop.keys[key];
    if (rule === undefined) dropUnknownKey(out, hop, key, entry);
    else applyRule(out, rule, key, entry);
  }
  fillDefaults(out, hop);
  return { config: out.config, changes: out.changes };
}

/** The config one hop writes and the report of what became of each key. */
class HopOutput {
  readonly config: FlatConfig = new Map();
  readonly changes: ConfigChange[] = [];

  constructor(readonly label: string) {}

  put(key: string, entry: ConfigEntry): void {
    // Two rules of one table aiming at the same key is a mistake in the table, not in the operator's file.
    if (this.config.has(key))
      throw new TesseraError('INTERNAL', `Config rules ${this.label} write ${key} twice.`);
    this.config.set(key, entry);
  }
}

/** A key the older release never read: dropped, with a warning in the report. */
function dropUnknownKey(out: HopOutput, hop: HopRules, key: string, entry: ConfigEntry): void {
  out.changes.push({
    kind: 'dropped',
    hop: out.label,
    from: key,
    value: displayUnknownValue(key, entry.value),
    note: `not a ${hop.from} key: Tessera ${hop.from} never read it, and ${hop.to} has no place for it`,
    warning: true,
  });
}

function applyRule(out: HopOutput, rule: KeyRule, key: string, entry: ConfigEntry): void {
  const hop = out.label;
  switch (rule.action) {
    case 'carry':
      out.put(key, entry);
      out.changes.push({ kind: 'carried', hop, key, value: displayKnownValue(key, entry.value) });
      break;
    case 'rename':
      out.put(rule.to, entry);
      out.changes.push({
        kind: 'renamed',
        hop,
        from: key,
        to: rule.to,
        value: displayKnownValue(rule.to, entry.value),
      });
      break;
    case 'change':
      applyChange(out, rule, key, entry);
      break;
    case 'drop':
      out.changes.push({
        kind: 'dropped',
        hop,
        from: key,
        value: displayKnownValue(key, entry.value),
        note: rule.why,
        warning: false,
      });
      break;
  }
}

function applyChange(
  out: HopOutput,
  rule: Extract<KeyRule, { action: 'change' }>,
  key: string,
  entry: ConfigEntry,
): void {
  const hop = out.label;
  const value = rule.convert(entry.value);
  // A rule that found the value it would write already there changed nothing but, maybe, the key's
  // name: the report says `carried` or `renamed`, never `changed` with the same value on both sides.
  if (displayKnownValue(rule.to, value) === displayKnownValue(key, entry.value)) {
    out.put(rule.to, rule.to === key ? entry : { ...entry, value });
    out.changes.push(
      rule.to === key
        ? { kind: 'carried', hop, key, value: displayKnownValue(key, value) }
        : { kind: 'renamed', hop, from: key, to: rule.to, value: displayKnownValue(rule.to, value) },
    );
    return;
  }
  out.put(rule.to, { value, origin: entry.origin, note: rule.why });
  out.changes.push({
    kind: 'changed',
    hop,
    from: key,
    to: rule.to,
    before: displayKnownValue(key, entry.value),
    value: displayKnownValue(rule.to, value),
    note: rule.why,
  });
}

/** The newer format's keys no rule wrote, with the values an upgraded home starts with. */
function fillDefaults(out: HopOutput, hop: HopRules): void {
  for (const fill of hop.defaults) {
    if (out.config.has(fill.key)) continue;
    out.config.set(fill.key, { value: fill.value, origin: undefined, note: fill.why });
    out.changes.push({
      kind: 'defaulted',
      hop: out.label,
      key: fill.key,
      value: displayKnownValue(fill.key, fill.value),
      note: fill.why,
    });
  }
}
