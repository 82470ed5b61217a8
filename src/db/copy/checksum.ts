import { createHash, type Hash } from 'node:crypto';
import { TesseraError } from '../../errors.js';
import { type Row, type StreamOptions, streamRows } from './rows.js';
import type { DataSource, TableInfo } from './tables.js';

/** A table's content in two numbers: the same rows give the same pair on the same engine. */
export interface TableContent {
  rows: number;
  /** SHA-256 (hex) over the column names and every row in primary-key order, values encoded canonically. */
  checksum: string;
}

const FORMAT_TAG = 'tessera-table-checksum/1';
/** Canonical text is handed to the hash in pieces of about this size. */
const FLUSH_CHARS = 64 * 1024;

/**
 * Every value as a self-delimiting string, so that no two different rows can encode alike: numbers as
 * decimal strings, strings as their UTF-8 byte length and text, bytes as hex, and NULL as a tag of its own,
 * never equal to the empty string `s0:`.
 */
export function canonicalValue(value: unknown): string {
  if (value === null || value === undefined) return 'N';
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return `n${String(value)};`;
    case 'string':
      return `s${Buffer.byteLength(value)}:${value}`;
    case 'boolean':
      return value ? 'T' : 'F';
  }
  if (value instanceof Uint8Array) return `b${value.byteLength}:${Buffer.from(value).toString('hex')}`;
  if (value instanceof Date) return `d${value.getTime()};`;
  throw new TesseraError('INTERNAL', `A value of type ${typeof value} cannot be checksummed.`);
}

/** Accumulates a table's checksum row by row, in the order the rows are given. */
export class TableChecksum {
  private readonly hash: Hash = createHash('sha256');
  private pending = '';
  rows = 0;

  constructor(columns: readonly string[]) {
    this.hash.update(`${FORMAT_TAG}\n${columns.map(canonicalValue).join('')}\n`);
  }

  add(row: readonly unknown[]): void {
    let line = '';
    for (const value of row) line += canonicalValue(value);
    this.pending += `${line}\n`;
    this.rows += 1;
    if (this.pending.length >= FLUSH_CHARS) this.flush();
  }

  addBatch(rows: readonly Row[]): void {
    for (const row of rows) this.add(row);
  }

  result(): TableContent {
    this.flush();
    return { rows: this.rows, checksum: this.hash.digest('hex') };
  }

  private flush(): void {
    this.hash.update(this.pending, 'utf8');
    this.pending = '';
  }
}

/** Reads a whole table in primary-key order (bounded memory) and returns its row count and checksum. */
export async function tableContent(
  source: DataSource,
  table: TableInfo,
  options: StreamOptions & { onBatch?: (rows: number) => void } = {},
): Promise<TableContent> {
  const checksum = new TableChecksum(table.columns);
  for await (const batch of streamRows(source, table, options)) {
    checksum.addBatch(batch);
    options.onBatch?.(batch.length);
  }
  return checksum.result();
}
