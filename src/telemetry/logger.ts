import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/schema.js';
import { redactDatabaseUrl } from '../db/url.js';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from '../home/private-modes.js';
import { terminalLogStream } from './log-format.js';

/** Fields that may hold a secret, whatever object they arrive in; pino replaces them before writing. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'password',
  'adminPassword',
  '*.password',
  '*.adminPassword',
  'body.password',
  'body.adminPassword',
  // An LDAP store's service account password, as the API takes it and as store files spell it.
  'bindPassword',
  '*.bindPassword',
  'bind_password',
  '*.bind_password',
];

export interface LoggerOptions {
  level: LogLevel;
  /** The home's `logs/` folder; JSON lines go to `tessera.log` there. */
  logsFolder?: string;
  /** Also write to stdout (the server's default; tests turn it off). */
  stdout?: boolean;
  /**
   * Where the stdout lines go (process.stdout; tests give their own). A terminal (`isTTY`) gets readable
   * lines (log-format.ts); anything else, a pipe to a collector say, gets the JSON lines the file gets.
   */
  out?: { write(text: string): unknown; isTTY?: boolean };
}

export interface ServerLogger {
  logger: Logger;
  /** Flushes and closes the log file, so nothing is written after the server stopped. */
  close(): Promise<void>;
}

export function createLogger(options: LoggerOptions): ServerLogger {
  const streams: pino.StreamEntry[] = [];
  let file: ReturnType<typeof pino.destination> | undefined;
  if (options.stdout ?? true)
    streams.push({
      level: options.level === 'silent' ? 'fatal' : options.level,
      stream: stdoutStream(options),
    });
  if (options.logsFolder) {
    mkdirSync(options.logsFolder, { recursive: true, mode: PRIVATE_FOLDER_MODE });
    // Opened synchronously: the file exists (or the start fails) before the first line is written.
    file = pino.destination({
      dest: path.join(options.logsFolder, 'tessera.log'),
      mode: PRIVATE_FILE_MODE,
      sync: false,
      minLength: 0,
    });
    file.on('error', (error) =>
      process.stderr.write(`tessera: cannot write the log file: ${error.message}\n`),
    );
    streams.push({ level: options.level === 'silent' ? 'fatal' : options.level, stream: file });
  }
  const logger = pino(
    {
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // A message or an error may quote a database URL (a driver's or a store's error): never its password.
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((arg) => (typeof arg === 'string' ? redactDatabaseUrl(arg) : arg));
          method.apply(this, redacted as Parameters<typeof method>);
        },
      },
      serializers: { err: redactedError },
      base: { pid: process.pid },
    },
    pino.multistream(streams),
  );
  return {
    logger,
    close: () =>
      new Promise<void>((resolve) => {
        if (!file) return resolve();
        file.once('close', () => resolve());
        file.once('error', () => resolve());
        file.end();
      }),
  };
}

function stdoutStream(options: LoggerOptions): { write(chunk: string): unknown } {
  const out = options.out ?? process.stdout;
  if (out.isTTY !== true) return out;
  // https://no-color.org: any non-empty value turns colours off.
  return terminalLogStream(out, { colors: !process.env.NO_COLOR });
}

function redactedError(error: Error): pino.SerializedError {
  const serialized = pino.stdSerializers.err(error);
  serialized.message = redactDatabaseUrl(serialized.message);
  if (serialized.stack) serialized.stack = redactDatabaseUrl(serialized.stack);
  return serialized;
}
