import { createWriteStream, mkdirSync, openSync, renameSync, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../../home/private-modes.js';

export interface AppLogOptions {
  /** Past this size the file is renamed `.log.1` (and older ones shifted) and a new one begun. */
  readonly maxBytes?: number;
  /** Rotated files kept: `.log.1` ... `.log.<keep>`. */
  readonly keep?: number;
}

/** A line longer than this is cut into pieces, so an app printing without newlines cannot fill memory. */
const MAX_LINE_CHARS = 16 * 1024;
/** The stderr lines kept for a crash's `reason`. */
const TAIL_LINES = 8;

/** Where an app's output goes: `<logs>/apps/<tenant domain>/<app>.log`. */
export function appLogFile(logsFolder: string, tenantDomain: string, app: string): string {
  return path.join(logsFolder, 'apps', tenantDomain, `${app}.log`);
}

/**
 * An app's stdout and stderr, line by line, each line prefixed with an ISO timestamp and its stream, in a
 * private file rotated by size. The last stderr lines are kept for the status's `reason`.
 */
export class AppLog {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private stream: WriteStream;
  private size: number;
  private readonly stderrTail: string[] = [];
  private readonly lineListeners = new Set<(stream: 'stdout' | 'stderr', line: string) => void>();

  constructor(file: string, options: AppLogOptions = {}) {
    this.file = file;
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.keep = options.keep ?? 3;
    mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_FOLDER_MODE });
    this.size = sizeOf(file);
    this.stream = this.open();
  }

  /** Reads `input` line by line into the file until it ends. */
  follow(input: Readable, name: 'stdout' | 'stderr'): void {
    let partial = '';
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      while (partial.length > MAX_LINE_CHARS) {
        lines.push(partial.slice(0, MAX_LINE_CHARS));
        partial = partial.slice(MAX_LINE_CHARS);
      }
      for (const line of lines) this.line(name, line);
    });
    input.on('end', () => {
      if (partial) this.line(name, partial);
      partial = '';
    });
  }

  /** Called with every line (the supervisor watches stderr for V8's heap-limit abort). */
  onLine(listener: (stream: 'stdout' | 'stderr', line: string) => void): void {
    this.lineListeners.add(listener);
  }

  /** The last stderr lines, oldest first. */
  lastErrorLines(): string[] {
    return [...this.stderrTail];
  }

  clearErrorLines(): void {
    this.stderrTail.length = 0;
  }

  /** Writes one line of Tessera's own (a start, an exit, a kill), marked `tessera`. */
  note(text: string): void {
    this.write(`${new Date().toISOString()} tessera ${text}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }

  private line(name: 'stdout' | 'stderr', text: string): void {
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (name === 'stderr') {
      this.stderrTail.push(line);
      if (this.stderrTail.length > TAIL_LINES) this.stderrTail.shift();
    }
    for (const listener of this.lineListeners) listener(name, line);
    this.write(`${new Date().toISOString()} ${name} ${line}\n`);
  }

  private write(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    this.size += bytes;
    this.stream.write(text);
  }

  /** Renames synchronously: the old stream keeps its descriptor and finishes into `.log.1`. */
  private rotate(): void {
    this.stream.end();
    for (let n = this.keep - 1; n >= 1; n--) renameIfPresent(`${this.file}.${n}`, `${this.file}.${n + 1}`);
    renameIfPresent(this.file, `${this.file}.1`);
    this.size = 0;
    this.stream = this.open();
  }

  /** Opened synchronously, so the file exists at once and a rotation right after renames it. */
  private open(): WriteStream {
    const fd = openSync(this.file, 'a', PRIVATE_FILE_MODE);
    const stream = createWriteStream('', { fd });
    stream.on('error', () => {}); // a full disk must not take Tessera down; the app keeps running
    return stream;
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function renameIfPresent(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    // not there yet
  }
}
