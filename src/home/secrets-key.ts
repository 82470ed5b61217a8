import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TesseraError } from '../errors.js';
import type { HomeLayout } from './layout.js';
import { PRIVATE_FILE_MODE, PRIVATE_FOLDER_MODE } from './private-modes.js';

/** The file, under `conf/`, holding the key that seals secrets the database keeps (TOTP keys). */
export const SECRETS_KEY_FILE = 'secrets.key';

export function secretsKeyPath(layout: HomeLayout): string {
  return path.join(layout.conf, SECRETS_KEY_FILE);
}

/**
 * The home's secrets key (32 bytes, stored as base64), created with mode 0600 the first time a server starts
 * on the home. It lives beside the config, not in the database, so that a copy of the database alone opens
 * nothing; upgrades and exports carry it with `conf/`. Created exclusively: two nodes starting on one home
 * at once end with one key.
 */
export function loadSecretsKey(layout: HomeLayout): Buffer {
  const file = secretsKeyPath(layout);
  try {
    return decodeKey(readFileSync(file, 'utf8'), file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(layout.conf, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  try {
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return decodeKey(readFileSync(file, 'utf8'), file);
}

function decodeKey(text: string, file: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32)
    throw new TesseraError('CONFIG_INVALID', `${file} does not hold a 32-byte key in base64.`, {
      hint: 'Put back the file from a backup or another node of the cluster; a new key would leave enrolled authenticators unreadable.',
    });
  return key;
}
