import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'smol-toml';
import { AppConfigError } from './errors.js';

/** The optional per-app settings file at the root of an app; never served. */
export const APP_CONFIG_FILE = 'tessera-app.toml';

export interface AppConfig {
  /** Every request needs HTTP Basic credentials valid in the app's tenant. */
  login: boolean;
}

export const DEFAULT_APP_CONFIG: Readonly<AppConfig> = Object.freeze({ login: false });

/** A settings file this size is certainly not a hand-written one. */
const MAX_CONFIG_BYTES = 64 * 1024;

const KNOWN_KEYS: ReadonlySet<string> = new Set(['login']);

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
    if (isMissingFile(error)) return { ...DEFAULT_APP_CONFIG };
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
  const unknown = Object.keys(table).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length > 0) {
    throw new AppConfigError(
      file,
      `${APP_CONFIG_FILE} has unknown keys: ${unknown.join(', ')} (known: login)`,
    );
  }
  const login = table.login ?? DEFAULT_APP_CONFIG.login;
  if (typeof login !== 'boolean') {
    throw new AppConfigError(file, `${APP_CONFIG_FILE}: login must be true or false`);
  }
  return { login };
}

function isMissingFile(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}
