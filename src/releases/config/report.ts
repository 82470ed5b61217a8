import type { ConfigChange } from './types.js';

/** The config report as printed: one line per key, grouped by hop in the order they ran. */
export function formatConfigChanges(changes: readonly ConfigChange[]): string[] {
  return changes.map((change) => `${change.hop.padEnd(10)} ${change.kind.padEnd(9)} ${describe(change)}`);
}

function describe(change: ConfigChange): string {
  switch (change.kind) {
    case 'carried':
      return `${change.key} = ${change.value}`;
    case 'kept':
      return `${change.key} = ${change.value} (${change.note})`;
    case 'renamed':
      return `${change.from} -> ${change.to} = ${change.value}`;
    case 'changed': {
      const key = change.from === change.to ? change.from : `${change.from} -> ${change.to}`;
      return `${key}: ${change.before} -> ${change.value} (${change.note})`;
    }
    case 'defaulted':
      return `${change.key} = ${change.value} (${change.note})`;
    case 'dropped':
      return `${change.warning ? 'WARNING ' : ''}${change.from} = ${change.value} (${change.note})`;
  }
}

/**
 * How many keys of each kind, e.g. `4 renamed, 1 changed, 3 defaulted, 1 dropped, 2 carried` (and `1 kept`
 * when the switch to staging kept the database URL's text).
 */
export function summarizeConfigChanges(changes: readonly ConfigChange[]): string {
  const kinds = ['renamed', 'changed', 'defaulted', 'dropped', 'carried'] as const;
  const counts = kinds.map((kind) => `${changes.filter((c) => c.kind === kind).length} ${kind}`);
  const kept = changes.filter((c) => c.kind === 'kept').length;
  return [...counts, ...(kept > 0 ? [`${kept} kept`] : [])].join(', ');
}
