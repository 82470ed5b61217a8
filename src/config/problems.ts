import { locateKey } from './locate.js';

export type Table = Record<string, unknown>;

/** Every problem of one config file, each with the file and, when known, the line. */
export class Problems {
  readonly messages: string[] = [];
  constructor(
    readonly file: string,
    readonly source: string,
  ) {}

  add(keyPath: readonly string[], message: string): void {
    const line = locateKey(this.source, keyPath);
    this.messages.push(`${this.file}${line ? `:${line}` : ''}: ${keyPath.join('.')} ${message}`);
  }

  /** A problem whose line was found another way (entries of an array of tables). */
  addAt(line: number | undefined, label: string, message: string): void {
    this.messages.push(`${this.file}${line ? `:${line}` : ''}: ${label} ${message}`);
  }
}

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
