import type { ConfigKeySpec } from '../../src/config/key-spec.js';
import { configKeyRows } from '../../src/config/keys.js';

export const README_COLUMNS = ['key', 'default', 'values', 'since', 'meaning'];

/** The cells README.md's "Configuration" table should hold, one array per key of the key table. */
export function expectedReadmeRows(): string[][] {
  return configKeyRows().map(([name, spec]) => [
    code(name),
    shownDefault(spec),
    allowedValues(spec),
    spec.since,
    spec.description,
  ]);
}

/** The rows as a Markdown table, columns padded, to paste into README.md. */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const all = [README_COLUMNS, ...rows];
  const widths = README_COLUMNS.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(README_COLUMNS), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The table's rows under the `## Configuration` heading of a README, each split into trimmed cells. */
export function readmeRows(readme: string): { header: string[]; rows: string[][] } {
  const start = readme.indexOf('\n## Configuration');
  const end = readme.indexOf('\n## ', start + 1);
  const lines = readme
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((line) => line.startsWith('|'));
  const cells = (line: string) =>
    line
      .slice(1, line.lastIndexOf('|'))
      .split('|')
      .map((cell) => cell.trim());
  const [header = '', , ...rows] = lines;
  return { header: cells(header), rows: rows.map(cells) };
}

function shownDefault(spec: ConfigKeySpec): string {
  switch (spec.type) {
    case 'optional-string':
      return 'unset';
    case 'mounts':
      return 'none';
    default:
      return code(literal(spec.default));
  }
}

function allowedValues(spec: ConfigKeySpec): string {
  switch (spec.type) {
    case 'format':
      return code(literal(spec.default));
    case 'integer': {
      const range = `${spec.min} to ${spec.max}${spec.unit ? ` ${spec.unit}` : ''}`;
      return spec.atMost ? `${range}, at most ${code(spec.atMost)}` : range;
    }
    case 'string':
      return 'a non-empty string';
    case 'choice':
      return spec.choices.map((choice) => code(literal(choice))).join(', ');
    case 'boolean':
      return `${code('true')}, ${code('false')}`;
    case 'optional-string':
      return 'a string';
    case 'host-list':
      return 'an array of hosts';
    case 'mounts':
      return 'an array of tables';
  }
}

function literal(value: unknown): string {
  return Array.isArray(value) ? `[${value.map(literal).join(', ')}]` : JSON.stringify(value);
}

function code(text: string): string {
  return `\`${text}\``;
}
