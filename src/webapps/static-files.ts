import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { APP_CONFIG_FILE } from './app-config.js';

/** The part of a request's path below an app, split into decoded segments. */
export interface RequestedPath {
  /** Decoded path segments below the app, empty segments (`//`) dropped. */
  segments: string[];
  /** The path goes on below the app name (`/app/…`), as opposed to naming the app alone (`/app`). */
  belowApp: boolean;
  /** Ends with `/`: a folder's `index.html` is served only then, so relative links resolve right. */
  endsWithSlash: boolean;
  /** `?…` as received, or ''. */
  query: string;
  /** The path below the app exactly as the client spelt it (not decoded, `//` kept): `/a%20b`, or `/`. */
  rawBelow: string;
}

/**
 * Reads the path below an app from the raw request URL, skipping `prefixSegments` leading segments (the
 * app name, or `t`, the domain and the app name). Works on the raw URL rather than the router's decoded
 * wildcard so that every segment is decoded exactly once and checked after decoding: `undefined` when a
 * segment is `.` or `..`, holds `/`, `\` or NUL once decoded (`%2e%2e`, `%2f`), or cannot be decoded.
 */
export function requestedPath(rawUrl: string, prefixSegments: number): RequestedPath | undefined {
  const queryStart = rawUrl.indexOf('?');
  const pathname = queryStart < 0 ? rawUrl : rawUrl.slice(0, queryStart);
  const query = queryStart < 0 ? '' : rawUrl.slice(queryStart);
  const below = pathname.split('/').slice(1 + prefixSegments);
  const segments: string[] = [];
  for (const raw of below) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return {
    segments,
    belowApp: below.length > 0,
    endsWithSlash: pathname.endsWith('/'),
    query,
    rawBelow: `/${below.join('/')}`,
  };
}

export type StaticTarget =
  | { kind: 'file'; path: string; size: number; modified: Date }
  | { kind: 'directory' }
  | { kind: 'missing' };

/**
 * What `segments` name inside an app's `root` (a real path). Symlinks inside the app are followed, but
 * only to places still inside it: the real path is resolved and must lie under `root`, so a link to
 * `/etc` reads as missing. The app's `tessera-app.toml` is missing too, however it is reached.
 */
export async function resolveStaticFile(root: string, segments: readonly string[]): Promise<StaticTarget> {
  let real: string;
  try {
    real = await realpath(path.join(root, ...segments));
  } catch {
    return { kind: 'missing' };
  }
  if (real !== root && !real.startsWith(root.endsWith(path.sep) ? root : root + path.sep))
    return { kind: 'missing' };
  if (real === path.join(root, APP_CONFIG_FILE)) return { kind: 'missing' };
  try {
    const info = await stat(real);
    if (info.isDirectory()) return { kind: 'directory' };
    if (info.isFile()) return { kind: 'file', path: real, size: info.size, modified: info.mtime };
  } catch {
    // vanished between realpath and stat: as good as missing
  }
  return { kind: 'missing' };
}
