import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/schema.js';

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
];

export interface LoggerOptions {
  level: LogLevel;
  /** The home's `logs/` folder; JSON lines go to `tessera.log` there. */
  logsFolder?: string;
  /** Also write to stdout (the server's default; tests turn it off). */
  stdout?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [];
  if (options.stdout ?? true) streams.push({ level: options.level === 'silent' ? 'fatal' : options.level, stream: process.stdout });
  if (options.logsFolder) {
    mkdirSync(options.logsFolder, { recursive: true });
    streams.push({
      level: options.level === 'silent' ? 'fatal' : options.level,
      stream: pino.destination({ dest: path.join(options.logsFolder, 'tessera.log'), mkdir: true, sync: false }),
    });
  }
  return pino(
    { level: options.level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    pino.multistream(streams),
  );
}
