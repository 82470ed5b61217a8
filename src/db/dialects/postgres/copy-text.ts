import type { Rows } from '../../dialect.js';

/** Encodes one value in PostgreSQL's COPY text format. */
export function encodeCopyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Uint8Array) return `\\\\x${Buffer.from(value).toString('hex')}`;
  if (value instanceof Date) return value.toISOString();
  return String(value).replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c] ?? c);
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Groups rows into COPY text chunks of about `chunkBytes`, so the stream is written in few large pieces;
 * `onChunk` hears how many rows (and characters) each chunk holds as it is handed on.
 */
export async function* copyTextChunks(
  rows: Rows,
  counter: { rows: number },
  chunkBytes = 256 * 1024,
  onChunk?: (rows: number, bytes: number) => void,
): AsyncGenerator<string> {
  let chunk = '';
  let chunkRows = 0;
  for await (const row of rows) {
    chunk += `${row.map(encodeCopyValue).join('\t')}\n`;
    counter.rows += 1;
    chunkRows += 1;
    if (chunk.length >= chunkBytes) {
      yield chunk;
      onChunk?.(chunkRows, chunk.length);
      chunk = '';
      chunkRows = 0;
    }
  }
  if (chunk.length > 0) {
    yield chunk;
    onChunk?.(chunkRows, chunk.length);
  }
}
