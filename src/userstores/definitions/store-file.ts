import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify, TomlError } from 'smol-toml';
import { parseDatabaseUrl, redactDatabaseUrl } from '../../db/url.js';
import { type ErrorCode, TesseraError } from '../../errors.js';
import {
  LDAP_FILE_KEYS,
  type LdapSettings,
  ldapFileKeys,
  ldapSettingsProblem,
  readLdapSettings,
} from '../ldap/settings.js';
import { isStoreDomain, PRIMARY_DOMAIN } from '../names.js';

export type SecondaryStoreType = 'jdbc' | 'ldap';

/** A secondary store as its file `<tenant folder>/userstores/<DOMAIN>.toml` defines it. */
export interface StoreDefinition {
  domain: string;
  type: SecondaryStoreType;
  url: string;
  readOnly: boolean;
  description?: string;
  /** Present exactly when `type` is ldap; holds the bind password, so never shown or logged. */
  ldap?: LdapSettings;
}

/** A definition as the API gives it: LDAP settings left out take their defaults. */
export type StoreDefinitionInput = Omit<StoreDefinition, 'ldap'> & {
  ldap?: Partial<LdapSettings> | undefined;
};

export type StoreFileResult =
  | { ok: true; definition: StoreDefinition }
  /** `partial` holds what could be read, so a broken store can still be described. */
  | { ok: false; error: string; partial: Partial<StoreDefinition> };

const EXTENSION = '.toml';
const KEYS = ['domain', 'type', 'url', 'read_only', 'description'] as const;
const TYPES: readonly SecondaryStoreType[] = ['jdbc', 'ldap'];
const MAX_DESCRIPTION = 1024;

export function storeFileName(domain: string): string {
  return `${domain}${EXTENSION}`;
}

/**
 * The domain a file in `userstores/` claims by its name, or undefined for files that are not store
 * definitions (other extensions, and hidden files such as the temporary ones `writeStoreFile` renames).
 */
export function domainOfStoreFile(fileName: string): string | undefined {
  if (fileName.startsWith('.') || !fileName.endsWith(EXTENSION)) return undefined;
  const domain = fileName.slice(0, -EXTENSION.length);
  return domain.length > 0 ? domain : undefined;
}

/** Reads a store file's text; never throws, so that one broken file cannot stop the others from loading. */
export function parseStoreFile(text: string, file: string): StoreFileResult {
  const name = path.basename(file);
  let raw: Record<string, unknown>;
  try {
    raw = parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // Only the first line of smol-toml's message: the rest quotes the file, which may hold a password.
    const reason = error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'invalid TOML';
    return {
      ok: false,
      error: `${name} line ${error.line}, column ${error.column}: ${reason}.`,
      partial: {},
    };
  }
  const partial = readablePart(raw);
  const problem = definitionProblem(raw, text) ?? fileNameProblem(name, raw.domain);
  if (problem !== undefined) return { ok: false, error: `${name}${problem}`, partial };
  return { ok: true, definition: partial as StoreDefinition };
}

/**
 * Checks a definition given through the API (not read from a file): the same rules, refused with
 * BAD_REQUEST (or `code`) naming the offending field.
 */
export function validateStoreDefinition(
  definition: StoreDefinitionInput,
  code: ErrorCode = 'BAD_REQUEST',
): StoreDefinition {
  const raw: Record<string, unknown> = {
    domain: definition.domain,
    type: definition.type,
    url: definition.url,
    read_only: definition.readOnly,
  };
  if (definition.description !== undefined) raw.description = definition.description;
  if (definition.type === 'ldap') Object.assign(raw, ldapFileKeys(definition.ldap ?? {}));
  const problem = definitionProblem(raw, undefined);
  if (problem !== undefined) throw new TesseraError(code, `The user store definition is not valid${problem}`);
  return readablePart(raw) as StoreDefinition;
}

/** The file's text: the keys of the format, in its order, with TOML's own quoting. */
export function renderStoreFile(definition: StoreDefinition): string {
  const body: Record<string, unknown> = {
    domain: definition.domain,
    type: definition.type,
    url: definition.url,
    read_only: definition.readOnly,
  };
  if (definition.description !== undefined) body.description = definition.description;
  if (definition.type === 'ldap' && definition.ldap !== undefined)
    Object.assign(body, ldapFileKeys(definition.ldap));
  return `# Tessera secondary user store ${definition.domain}; edits are picked up while the server runs.\n${stringify(body)}\n`;
}

/**
 * Writes `<folder>/<DOMAIN>.toml` atomically: a hidden temporary file renamed over the target, so a watcher
 * never loads a half-written definition. Returns the file's path.
 */
export async function writeStoreFile(folder: string, definition: StoreDefinition): Promise<string> {
  return writeStoreFileText(folder, definition.domain, renderStoreFile(definition));
}

/**
 * Writes a store file's text atomically (a temporary file renamed into place), readable by the server's user
 * only: the URL (or bind_password) may carry a password. Returns the file's path.
 */
export async function writeStoreFileText(folder: string, domain: string, text: string): Promise<string> {
  const file = path.join(folder, storeFileName(domain));
  const temporary = path.join(folder, `.${storeFileName(domain)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { encoding: 'utf8', mode: 0o600, flag: 'wx' });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return file;
}

/** The store files in a folder, by the domain their names claim, as paths; none when the folder is missing. */
export async function listStoreFiles(folder: string): Promise<Map<string, string>> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  const files = new Map<string, string>();
  for (const entry of entries) {
    const domain = entry.isDirectory() ? undefined : domainOfStoreFile(entry.name);
    if (domain !== undefined) files.set(domain, path.join(folder, entry.name));
  }
  return files;
}

/** The first thing wrong with the keys, as `: reason` or ` line N: reason`; undefined when all is well. */
function definitionProblem(raw: Record<string, unknown>, text: string | undefined): string | undefined {
  const at = (key: string) => {
    const line = text === undefined ? undefined : lineOfKey(text, key);
    return line === undefined ? ': ' : ` line ${line}: `;
  };
  const known: readonly string[] = raw.type === 'ldap' ? [...KEYS, ...LDAP_FILE_KEYS] : KEYS;
  const unknown = Object.keys(raw).find((key) => !known.includes(key));
  if (unknown !== undefined)
    return `${at(unknown)}unknown key "${unknown}" (known keys: ${known.join(', ')}).`;
  for (const key of ['domain', 'type', 'url'] as const) {
    const value = raw[key];
    if (value === undefined) return `: the key "${key}" is missing.`;
    if (typeof value !== 'string' || value.length === 0)
      return `${at(key)}"${key}" must be a non-empty string.`;
  }
  const domain = raw.domain as string;
  if (domain === PRIMARY_DOMAIN)
    return `${at('domain')}"domain" cannot be ${PRIMARY_DOMAIN}, the name of the tenant's own store.`;
  if (!isStoreDomain(domain)) {
    return `${at('domain')}"domain" = "${domain}" is not a store domain: use 1 to 64 upper-case letters, digits, _ or -, starting with a letter.`;
  }
  if (!(TYPES as readonly unknown[]).includes(raw.type))
    return `${at('type')}"type" must be "jdbc" or "ldap", not "${String(raw.type)}".`;
  const url = raw.url as string;
  if (raw.type === 'jdbc') {
    try {
      // Only the URL's shape: SQLite paths are resolved against the home when the store is opened.
      parseDatabaseUrl(url, '/');
    } catch (error) {
      return `${at('url')}"url": ${error instanceof Error ? error.message : String(error)}`;
    }
  } else if (!/^ldaps?:\/\//.test(url)) {
    return `${at('url')}"url" must be an ldap:// or ldaps:// URL, not "${redactDatabaseUrl(url)}".`;
  }
  if (raw.read_only !== undefined && typeof raw.read_only !== 'boolean')
    return `${at('read_only')}"read_only" must be true or false.`;
  if (
    raw.description !== undefined &&
    (typeof raw.description !== 'string' || raw.description.length > MAX_DESCRIPTION)
  ) {
    return `${at('description')}"description" must be a string of at most ${MAX_DESCRIPTION} characters.`;
  }
  if (raw.type === 'ldap') return ldapSettingsProblem(raw, at);
  return undefined;
}

function fileNameProblem(fileName: string, domain: unknown): string | undefined {
  const expected = typeof domain === 'string' ? storeFileName(domain) : undefined;
  if (expected === undefined || fileName === expected) return undefined;
  return `: the file name must be the store's domain: "domain" = "${domain}" belongs in ${expected}.`;
}

/** The well-typed keys of a parsed file, in the definition's shape (`read_only` defaults to false). */
function readablePart(raw: Record<string, unknown>): Partial<StoreDefinition> {
  const part: Partial<StoreDefinition> = {
    readOnly: typeof raw.read_only === 'boolean' ? raw.read_only : false,
  };
  if (typeof raw.domain === 'string') part.domain = raw.domain;
  if (raw.type === 'jdbc' || raw.type === 'ldap') part.type = raw.type;
  if (typeof raw.url === 'string') part.url = raw.url;
  if (typeof raw.description === 'string') part.description = raw.description;
  if (raw.type === 'ldap') part.ldap = readLdapSettings(raw);
  return part;
}

/** The 1-based line where `key = ...` is written, for messages about its value. */
function lineOfKey(text: string, key: string): number | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^\\s*["']?${escaped}["']?\\s*=`);
  const index = text.split(/\r?\n/).findIndex((line) => pattern.test(line));
  return index === -1 ? undefined : index + 1;
}
