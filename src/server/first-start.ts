import { writeFileSync } from 'node:fs';
import { defaultConfigText } from '../config/schema.js';
import type { Database } from '../db/connection.js';
import { ensureHomeLayout, type HomeLayout } from '../home/layout.js';
import { PRIVATE_FILE_MODE, tightenHome } from '../home/private-modes.js';
import { bootstrapDatabase } from './bootstrap.js';

/**
 * What a first start (`tessera start` on a new home) and `tessera init` both do before a server could
 * listen, shared so that the two can never lay out a home differently.
 */

/** The home's folders, owner-only, also for homes laid out by an earlier release or a looser umask. */
export function layOutHome(layout: HomeLayout): void {
  ensureHomeLayout(layout);
  tightenHome(layout.root);
}

/**
 * Writes the default `conf/tessera.toml` (naming `databaseUrl` when given). Never over an existing one:
 * a config that appeared meanwhile (another start or init of the same home) fails with EEXIST.
 */
export function writeDefaultConfig(layout: HomeLayout, databaseUrl?: string): void {
  writeFileSync(layout.configFile, defaultConfigText(databaseUrl), { flag: 'wx', mode: PRIVATE_FILE_MODE });
}

export interface FirstAdminOptions {
  /** The super tenant admin's password (else `TESSERA_ADMIN_PASSWORD`, else generated). */
  adminPassword?: string;
  /** Called once with a generated password, to show it to the operator (it is never logged). */
  onGeneratedPassword?: (password: string) => void;
}

/** On an empty database: the schema at the current release, the super tenant and its `admin`. */
export async function createFirstDatabase(database: Database, options: FirstAdminOptions): Promise<void> {
  const adminPassword = options.adminPassword ?? process.env.TESSERA_ADMIN_PASSWORD;
  // An empty TESSERA_ADMIN_PASSWORD is unset, not an empty password.
  const { generatedPassword } = await bootstrapDatabase(database, adminPassword || undefined);
  if (generatedPassword) options.onGeneratedPassword?.(generatedPassword);
}
