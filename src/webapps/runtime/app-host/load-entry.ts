import { type RequestListener, Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { readableLines } from './readable-lines.js';

/** A fetch handler: the convention of workerd, Deno, Bun and Hono. */
export interface FetchHandler {
  fetch(request: Request, env: Record<string, string>, ctx: FetchContext): Response | Promise<Response>;
}

export interface FetchContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

/** The three forms an entry may export (README, Applications). */
export type AppForm =
  | { readonly kind: 'fetch'; readonly handler: FetchHandler }
  | { readonly kind: 'listener'; readonly listener: RequestListener }
  | { readonly kind: 'server'; readonly server: Server };

export const ACCEPTED_FORMS =
  'an object with fetch(request, env, ctx), a request listener function (req, res) such as an Express app, ' +
  'or a node:http Server that is not listening';

/** Why the entry cannot be run; its message is what the app's status shows. */
export class EntryError extends Error {
  override name = 'EntryError';
}

/**
 * Imports the entry (ESM, or CommonJS whose `module.exports` becomes the default export) and finds its
 * form. CJS/ESM interop may nest the export once (`default.default`, e.g. a TypeScript build's
 * `exports.default`), so a `default` that is not itself a form is looked into once.
 */
export async function loadEntry(entry: string): Promise<AppForm> {
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (error) {
    throw new EntryError(`cannot load ${appRelative(entry)}: ${firstLines(error)}`);
  }
  const exported = namespace.default;
  const form = formOf(exported) ?? formOf(nested(exported));
  if (form) return form;
  throw new EntryError(
    `${appRelative(entry)} exports ${describe(exported)} as its default; expected ${ACCEPTED_FORMS}`,
  );
}

function nested(value: unknown): unknown {
  return typeof value === 'object' && value !== null && 'default' in value
    ? (value as { default: unknown }).default
    : undefined;
}

function formOf(value: unknown): AppForm | undefined {
  if (value instanceof Server) {
    if (value.listening) {
      throw new EntryError(
        'the exported http.Server is already listening; export it without calling listen()',
      );
    }
    return { kind: 'server', server: value };
  }
  if (typeof value === 'function') return { kind: 'listener', listener: value as RequestListener };
  if (typeof value === 'object' && value !== null && typeof (value as FetchHandler).fetch === 'function') {
    return { kind: 'fetch', handler: value as FetchHandler };
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const keys = Object.keys(value).slice(0, 5);
    return `an object${keys.length ? ` with keys ${keys.join(', ')}` : ' with no keys'} and no fetch method`;
  }
  return `a ${typeof value} (${String(value).slice(0, 40)})`;
}

/**
 * The message and the first stack lines: enough to find the problem, short enough for a status; without
 * Node's own frames or the app folder's path (`readableLines`; the process's working directory is the app).
 */
export function firstLines(error: unknown, count = 6): string {
  if (!(error instanceof Error)) return appRelative(String(error));
  const stack = error.stack ?? `${error.name}: ${error.message}`;
  const text = stack.includes(error.message) ? stack : `${error.name}: ${error.message}\n${stack}`;
  return readableLines(text.split('\n'), process.cwd()).slice(0, count).join('\n');
}

function appRelative(text: string): string {
  return readableLines([text], process.cwd()).join('\n');
}
