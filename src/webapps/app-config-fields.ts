import path from 'node:path';
import { type AppLimits, DEFAULT_APP_LIMITS } from './runtime/contract.js';

/** Throws the file's `AppConfigError` with this message; every message names the key and what is allowed. */
export type Refuse = (message: string) => never;

/**
 * `entry`: a path relative to the app folder, written with `/`. Absolute paths and `..` are refused here;
 * where a symlink leads is checked against the unpacked app at deploy time (`app-entry.ts`).
 */
export function parseEntry(value: unknown, refuse: Refuse): string {
  const allowed = 'a path relative to the app folder, inside it, e.g. "server.js" or "dist/index.mjs"';
  if (typeof value !== 'string' || value.trim() === '') return refuse(`entry must be ${allowed}`);
  if (value.includes('\\') || value.includes('\0'))
    return refuse(`entry must be ${allowed}, with / between folders (not \\ or NUL): "${value}"`);
  if (path.posix.isAbsolute(value) || /^[A-Za-z]:/.test(value))
    return refuse(`entry must be ${allowed}, not an absolute path: "${value}"`);
  if (value.split('/').includes('..')) return refuse(`entry must be ${allowed}, without "..": "${value}"`);
  const normal = path.posix.normalize(value);
  if (normal === '.' || normal.endsWith('/'))
    return refuse(`entry must be ${allowed}, naming a file: "${value}"`);
  return normal;
}

/** `health`: a path below the app's mount; never a URL, so Tessera only ever asks the app itself. */
export function parseHealth(value: unknown, refuse: Refuse): string {
  const allowed = 'a path below the app starting with "/", e.g. "/healthz"';
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//'))
    return refuse(`health must be ${allowed}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(value) || value.length > 1024)
    return refuse(`health must be ${allowed}, without spaces or control characters, at most 1024 characters`);
  return value;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names the process side never passes on (`refusedEnvName` in the runtime): refused here, not lost silently. */
const LOADER_NAMES = /^(?:NODE_(?!ENV$)|LD_|DYLD_|OPENSSL_)/;

/**
 * `[env]`: string values under names a shell could export. `TESSERA_*` are Tessera's to set, and
 * `NODE_OPTIONS` is refused because it would let the app lift the permission model it runs under; so are
 * the other names that change how code is loaded (`LD_PRELOAD`, ...).
 */
export function parseAppEnv(value: unknown, refuse: Refuse): Readonly<Record<string, string>> {
  if (value === undefined) return Object.freeze({});
  if (!isTable(value)) return refuse('[env] must be a table of NAME = "value" strings');
  const env: Record<string, string> = {};
  for (const [name, text] of Object.entries(value)) {
    if (!ENV_NAME.test(name))
      refuse(`[env] ${name}: a name must be letters, digits and _, not starting with a digit`);
    if (name.toUpperCase().startsWith('TESSERA_'))
      refuse(`[env] ${name}: names starting TESSERA_ are set by Tessera itself; choose another name`);
    if (name === 'NODE_OPTIONS')
      refuse('[env] NODE_OPTIONS is not allowed: it could lift the permission model the app runs under');
    if (LOADER_NAMES.test(name))
      refuse(
        `[env] ${name} is not allowed: NODE_* (but NODE_ENV), LD_*, DYLD_* and OPENSSL_* change how the ` +
          'process loads code before its limits hold',
      );
    if (typeof text !== 'string')
      refuse(`[env] ${name} must be a string (quote it: ${name} = "${String(text)}")`);
    if ((text as string).includes('\0')) refuse(`[env] ${name} must not contain a NUL character`);
    env[name] = text as string;
  }
  return Object.freeze(env);
}

/** Each `[limits]` key: its field in `AppLimits` and its inclusive bounds. */
const LIMIT_KEYS: Readonly<
  Record<string, { field: keyof AppLimits; min: number; max: number; unit: string }>
> = {
  memory_mb: { field: 'memoryMb', min: 16, max: 8192, unit: 'MB' },
  request_timeout_s: { field: 'requestTimeoutS', min: 1, max: 3600, unit: 'seconds' },
  max_concurrent: { field: 'maxConcurrent', min: 1, max: 10_000, unit: 'requests' },
  max_body_mb: { field: 'maxBodyMb', min: 0, max: 1024, unit: 'MB' },
  start_timeout_s: { field: 'startTimeoutS', min: 1, max: 600, unit: 'seconds' },
};

/** `[limits]`: whole numbers within bounds; the defaults (`DEFAULT_APP_LIMITS`) for keys not given. */
export function parseAppLimits(value: unknown, refuse: Refuse): AppLimits {
  if (value === undefined) return DEFAULT_APP_LIMITS;
  const known = Object.keys(LIMIT_KEYS).join(', ');
  if (!isTable(value)) return refuse(`[limits] must be a table with any of ${known}`);
  const limits: AppLimits = { ...DEFAULT_APP_LIMITS };
  for (const [key, number] of Object.entries(value)) {
    const rule = LIMIT_KEYS[key];
    if (!rule) return refuse(`[limits] has an unknown key: ${key} (known: ${known})`);
    if (typeof number !== 'number' || !Number.isInteger(number) || number < rule.min || number > rule.max)
      refuse(`[limits] ${key} must be a whole number from ${rule.min} to ${rule.max} (${rule.unit})`);
    (limits as { -readonly [K in keyof AppLimits]: number })[rule.field] = number as number;
  }
  return Object.freeze(limits);
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
