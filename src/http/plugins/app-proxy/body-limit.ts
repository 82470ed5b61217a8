import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';

/** The body went past the app's `maxBodyMb` while it streamed in. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The request body passed ${limit} bytes.`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * The client's body as sent to the app, counted as it streams (a chunked body declares no length): past
 * `limit` bytes it fails with `BodyTooLargeError`, which aborts the app's request. The client's stream is
 * unpiped, not destroyed, so the 413 can still be written on its connection.
 */
export function limitedBody(source: Readable, limit: number, onTooLarge: () => void): Readable {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      total += chunk.length;
      if (total <= limit) return done(null, chunk);
      source.unpipe(counter);
      onTooLarge();
      done(new BodyTooLargeError(limit));
    },
  });
  source.pipe(counter);
  return counter;
}
