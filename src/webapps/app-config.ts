import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'smol-toml';
import { parseAppEnv, parseAppLimits, parseEntry, parseHealth } from './app-config-fields.js';
import { AppConfigError } from './errors.js';
import { type AppConfig, type AppRuntimeKind, DEFAULT_APP_LIMITS } from './runtime/contract.js';

export type { AppConfig } from './runtime/contract.js';

/** The optional per-app settings file at the root of an app; never served. */
export const APP_CONFIG_FILE = 'tessera-app.toml';

/** A static app without login: what an app without `tessera-app.toml` is. */
export const DEFAULT_APP_CONFIG: Readonly<AppConfig> = Object.freeze({
  runtime: 'static',
  login: false,
  env: Object.freeze({}),
  limits: DEFAULT_APP_LIMITS,
});

/** A settings file this size is certainly not a hand-written one. */
const MAX_CONFIG_BYTES = 64 * 1024;

const KNOWN_KEYS = ['runtime', 'entry', 'login', 'health', 'env', 'limits'] as const;
const KNOWN: ReadonlySet<string> = new Set(KNOWN_KEYS);

/** Keys that mean something only to code Tessera runs: on a static app they are a mistake, not a no-op. */
const NODE_ONLY = ['entry', 'health', 'env', 'limits'] as const;

/**
 * Reads `tessera-app.toml` from an app folder; the defaults when there is none. Unknown keys are an
 * error rather than ignored: a misspelt `logn = true` must not silently publish a protected app.
 */
export async function readAppConfig(appFolder: string): Promise<AppConfig> {
  const file = path.join(appFolder, APP_CONFIG_FILE);
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new AppConfigError(file, `${APP_CONFIG_FILE} is not a file`);
    if (info.size > MAX_CONFIG_BYTES) {
      throw new AppConfigError(file, `${APP_CONFIG_FILE} is larger than ${MAX_CONFIG_BYTES} bytes`);
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof AppConfigError) throw error;
    if (isMissingFile(error)) return DEFAULT_APP_CONFIG;
    throw new AppConfigError(file, `${APP_CONFIG_FILE} cannot be read: ${describe(error)}`, { cause: error });
  }
  return parseAppConfig(text, file);
}

/** Parses the text of a `tessera-app.toml`; `file` only names it in errors. */
export function parseAppConfig(text: string, file: string = APP_CONFIG_FILE): AppConfig {
  let table: Record<string, unknown>;
  try {
    table = parse(text);
  } catch (error) {
    throw new AppConfigError(file, `${APP_CONFIG_FILE} is not valid TOML: ${describe(error)}`, {
      cause: error,
    });
  }
  const refuse = (message: string): never => {
    throw new AppConfigError(file, `${APP_CONFIG_FILE}: ${message}`);
  };
  const unknown = Object.keys(table).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) {
    throw new AppConfigError(
      file,
      `${APP_CONFIG_FILE} has unknown keys: ${unknown.join(', ')} (known: ${KNOWN_KEYS.join(', ')})`,
    );
  }

  const runtime = parseRuntime(table, refuse);
  const login = table.login ?? DEFAULT_APP_CONFIG.login;
  if (typeof login !== 'boolean') refuse('login must be true or false');
  if (runtime === 'static') {
    const misplaced = NODE_ONLY.filter((key) => table[key] !== undefined);
    if (misplaced.length > 0) {
      const keys = misplaced.map((key) => (key === 'env' || key === 'limits' ? `[${key}]` : key));
      refuse(
        `${keys.join(', ')} ${misplaced.length === 1 ? 'applies' : 'apply'} only to runtime = "node"; ` +
          `remove ${misplaced.length === 1 ? 'it' : 'them'} or set runtime = "node"`,
      );
    }
    return { ...DEFAULT_APP_CONFIG, login: login as boolean };
  }
  if (table.entry === undefined)
    refuse(
      'runtime = "node" needs entry, the file to run relative to the app folder (e.g. entry = "server.js")',
    );
  const health = table.health === undefined ? undefined : parseHealth(table.health, refuse);
  return {
    runtime,
    entry: parseEntry(table.entry, refuse),
    login: login as boolean,
    ...(health === undefined ? {} : { health }),
    env: parseAppEnv(table.env, refuse),
    limits: parseAppLimits(table.limits, refuse),
  };
}

/** `static` unless said otherwise or an entry is given; `static` with an entry is a contradiction. */
function parseRuntime(table: Record<string, unknown>, refuse: (message: string) => never): AppRuntimeKind {
  const runtime = table.runtime;
  if (runtime === undefined) return table.entry === undefined ? 'static' : 'node';
  if (runtime !== 'static' && runtime !== 'node') refuse('runtime must be "static" or "node"');
  if (runtime === 'static' && table.entry !== undefined)
    refuse('runtime = "static" serves files and runs no entry; remove entry, or set runtime = "node"');
  return runtime as AppRuntimeKind;
}

function isMissingFile(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}
