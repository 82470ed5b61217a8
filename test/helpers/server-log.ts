import { readFileSync } from 'node:fs';
import path from 'node:path';

/** One JSON line of a home's `logs/tessera.log`: the fields the request log writes. */
export interface ServerLogLine {
  level: number;
  msg: string;
  reqId?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  error?: string;
  reason?: string;
  err?: { message: string; stack: string };
}

/** The JSON lines of a home's logs/tessera.log (read once the server stopped: the file is flushed on close). */
export function serverLogLines(home: string): ServerLogLine[] {
  return readFileSync(path.join(home, 'logs', 'tessera.log'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ServerLogLine);
}
