import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/** A pass-through stream that hashes (SHA-256) and counts the bytes flowing through it. */
export function hashingPassThrough(): {
  stream: Transform;
  /** Complete once the stream has ended. */
  result(): { fileBytes: number; fileSha256: string };
} {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  let digest: string | undefined;
  return {
    stream,
    result: () => {
      digest ??= hash.digest('hex');
      return { fileBytes: bytes, fileSha256: digest };
    },
  };
}
