/**
 * The server log as a person reads it on a terminal: one line per record (`14:03:07.123 INFO  message
 * key=value`), the stack of an error on the lines below it. The log file, and stdout when it is not a
 * terminal, keep pino's JSON lines; this only reformats what pino already wrote (redaction included).
 * Written here rather than taken from pino-pretty: a few dozen lines, no dependency to vet and pin.
 */

const LEVELS: Record<number, { label: string; color: string }> = {
  10: { label: 'TRACE', color: '\u001b[90m' },
  20: { label: 'DEBUG', color: '\u001b[90m' },
  30: { label: 'INFO ', color: '\u001b[32m' },
  40: { label: 'WARN ', color: '\u001b[33m' },
  50: { label: 'ERROR', color: '\u001b[31m' },
  60: { label: 'FATAL', color: '\u001b[41m' },
};
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';

/**
 * Fields a reader does not need on a terminal: said by the line's own time, level and message (the request
 * line's message has method, URL, status and duration), or the same on every line (pid, hostname).
 */
const HIDDEN = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'reqId',
  'req',
  'res',
  'responseTime',
  'err',
]);

export interface LogFormatOptions {
  /** ANSI colours for the level (a terminal that asked for none, `NO_COLOR`, gets none). */
  colors: boolean;
}

/** One JSON log line as one or more terminal lines (no trailing newline). */
export function formatLogLine(line: string, options: LogFormatOptions): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof record !== 'object' || record === null) return line;
  const level = LEVELS[Number(record.level)] ?? { label: String(record.level).padEnd(5), color: '' };
  const time = typeof record.time === 'number' ? clockTime(new Date(record.time)) : '--:--:--.---';
  const fields = Object.entries(record)
    .filter(([key, value]) => !HIDDEN.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldValue(value)}`);
  const head = options.colors
    ? `${DIM}${time}${RESET} ${level.color}${level.label}${RESET}`
    : `${time} ${level.label}`;
  const message = typeof record.msg === 'string' ? record.msg : '';
  const text = [head, message, ...fields].filter((part) => part !== '').join(' ');
  return text + errorLines(record.err);
}

/** A stream for pino that writes each JSON line it gets to `out` in the terminal format. */
export function terminalLogStream(
  out: { write(text: string): unknown },
  options: LogFormatOptions,
): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      const lines = chunk.split('\n').filter((line) => line !== '');
      out.write(lines.map((line) => `${formatLogLine(line, options)}\n`).join(''));
    },
  };
}

/** `HH:MM:SS.mmm` in local time: the date is the terminal session's, and the file has the full time. */
function clockTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}

/** The error's stack below the line, indented (its first line is the message); the message alone without one. */
function errorLines(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const { stack, message } = err as { stack?: unknown; message?: unknown };
  const text = typeof stack === 'string' && stack !== '' ? stack : typeof message === 'string' ? message : '';
  if (text === '') return '';
  return `\n${text
    .split('\n')
    .map((line) => `    ${line.trim()}`)
    .join('\n')}`;
}
