import { TesseraError } from '../errors.js';

export const MAX_PATH_LENGTH = 512;

/**
 * A registry path in its one normal form: absolute, `/`-separated, no empty, `.` or `..` segments, no
 * control characters, at most 512 characters; a trailing `/` is dropped. `/` itself is the root folder,
 * allowed only where `allowRoot` says so (listing).
 */
export function normaliseRegistryPath(raw: string, options: { allowRoot?: boolean } = {}): string {
  const bad = (why: string) => new TesseraError('BAD_REQUEST', `Registry path "${raw}" ${why}.`);
  if (!raw.startsWith('/')) throw bad('must start with /');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw bad('must not contain control characters');
  const trimmed = raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (trimmed === '/') {
    if (options.allowRoot) return '/';
    throw bad('must name a resource below /');
  }
  const segments = trimmed.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') throw bad('must not contain empty segments');
    if (segment === '.' || segment === '..') throw bad('must not contain . or .. segments');
  }
  if (trimmed.length > MAX_PATH_LENGTH) throw bad(`must be at most ${MAX_PATH_LENGTH} characters`);
  return trimmed;
}

/** Whether `path` is `folder` itself or below it. */
export function isAtOrBelow(path: string, folder: string): boolean {
  return folder === '/' || path === folder || path.startsWith(`${folder}/`);
}
