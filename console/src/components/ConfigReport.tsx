/**
 * The configure step's report (the journal's `steps.configure.details.report`) as a table of keys: what
 * each key was in the old config, what it is in the new one, and why. The journal keeps one structured
 * entry per key (src/config/transforms/types.ts, `ConfigChange`); values are TOML literals, secrets masked.
 */

interface ConfigRow {
  key: string;
  before: string;
  after: string;
  why: string;
  kind: string;
  hop?: string;
  warning: boolean;
}

/** Shown in Before for a key the old config did not have, and in After for one the new config drops. */
const ABSENT = '—';

const text = (value: unknown): string | undefined =>
  value === undefined || value === null
    ? undefined
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);

/** One entry as a row; undefined for an entry of a shape this console does not know (shown as text). */
export function configRow(entry: unknown): ConfigRow | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  const hop = text(e.hop);
  const value = text(e.value) ?? '';
  const from = text(e.from);
  const to = text(e.to);
  const note = text(e.note);
  const base = { kind: String(e.kind), hop, warning: false };
  switch (e.kind) {
    case 'carried':
      return { ...base, key: text(e.key) ?? '?', before: value, after: value, why: 'carried unchanged' };
    case 'renamed':
      return { ...base, key: `${from} → ${to}`, before: value, after: value, why: `renamed to ${to}` };
    case 'changed':
      return {
        ...base,
        key: from === to ? (from ?? '?') : `${from} → ${to}`,
        before: text(e.before) ?? ABSENT,
        after: value,
        why: note ?? 'changed',
      };
    case 'kept':
      // The same text before and after (a relative SQLite path that now resolves in the new home).
      return { ...base, key: text(e.key) ?? '?', before: value, after: value, why: note ?? 'kept' };
    case 'defaulted':
      return { ...base, key: text(e.key) ?? '?', before: ABSENT, after: value, why: note ?? 'a new key' };
    case 'dropped':
      return {
        ...base,
        key: from ?? '?',
        before: value,
        after: ABSENT,
        why: note ?? 'dropped',
        warning: e.warning === true,
      };
    default:
      return undefined;
  }
}

/** An entry this console cannot read as a key, in the `name=value` text `tessera upgrade report` prints. */
function rawText(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null) return String(entry);
  return Object.entries(entry)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('  ');
}

export function ConfigReport({ entries }: { entries: readonly unknown[] }) {
  if (entries.length === 0) return <p className="muted">The journal records no configuration change.</p>;
  return (
    <div className="table-box">
      <table className="config-report">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Before</th>
            <th scope="col">After</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: entries have no identity of their own (a key may come back in a later hop)
            <ConfigReportRow key={index} entry={entry} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ConfigReportRow({ entry }: { entry: unknown }) {
  const row = configRow(entry);
  if (!row)
    return (
      <tr>
        <td colSpan={4} className="mono">
          {rawText(entry)}
        </td>
      </tr>
    );
  return (
    <tr className={row.warning ? 'warning' : undefined} data-kind={row.kind}>
      <th scope="row" className="mono">
        {row.key}
      </th>
      <td className="mono">{row.before}</td>
      <td className="mono">{row.after}</td>
      <td>
        <div className="why">
          {row.warning && <strong>Warning: </strong>}
          {row.why}
          {row.hop && <div className="muted">{hopLabel(row.hop)}</div>}
        </div>
      </td>
    </tr>
  );
}

/** `1.1 -> 2.0` as "format 1.1 → 2.0"; `staging` is the switch to the upgraded database. */
function hopLabel(hop: string): string {
  if (hop === 'staging') return 'switch to the upgraded database';
  return `format ${hop.replace('->', '→')}`;
}
