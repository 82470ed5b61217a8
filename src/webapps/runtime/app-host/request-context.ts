import { AsyncLocalStorage } from 'node:async_hooks';

/** The request a piece of the app's code runs for, so its log lines can name it. */
export interface RequestContext {
  readonly requestId: string | undefined;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * Patches `process.stdout.write` and `process.stderr.write` so that text written while serving a request
 * carries its id: each line begun in the chunk gets a `[<request id>] ` prefix. Text written outside a
 * request is left as it is. A line written in several chunks is prefixed at each chunk's line starts only,
 * which is the best a stream without framing allows.
 */
export function tagOutputLines(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      const id = requestContext.getStore()?.requestId;
      if (id === undefined) return write(chunk, ...rest);
      const encoding = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8';
      const text =
        typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString(encoding) : String(chunk);
      return write(prefixLines(text, `[${id}] `), ...rest.filter((arg) => typeof arg === 'function'));
    }) as typeof stream.write;
  }
}

/** `prefix` before every line start in `text`, not after a final newline. */
export function prefixLines(text: string, prefix: string): string {
  return text.replace(/^(?=[^\n])/gm, prefix);
}
