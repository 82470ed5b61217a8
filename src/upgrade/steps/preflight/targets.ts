import { existsSync, realpathSync } from 'node:fs';
import { dialectModule } from '../../../db/connection.js';
import { type DatabaseKind, type DatabaseTarget, parseDatabaseUrl, targetFile } from '../../../db/url.js';
import type { UpgradeContext } from '../../types.js';

/** How operators call an engine in messages. */
export function engineName(kind: DatabaseKind): string {
  return dialectModule(kind).dialect.displayName;
}

export type Parsed = { target: DatabaseTarget; error?: undefined } | { target?: undefined; error: Error };

/** Production and staging as the upgrade addresses them, or why a URL could not be read. */
export interface UpgradeTargets {
  production: Parsed;
  staging: Parsed;
}

/**
 * Production's URL is the old config's, so a relative SQLite path is the OLD home's; the staging URL is
 * given for the new installation, so a relative path is the NEW home's.
 */
export function resolveTargets(context: UpgradeContext): UpgradeTargets {
  return {
    production: parse(context.plan.productionUrl, context.oldLayout.root),
    staging: parse(context.plan.stagingUrl, context.newLayout.root),
  };
}

function parse(url: string, home: string): Parsed {
  try {
    return { target: parseDatabaseUrl(url, home) };
  } catch (error) {
    return { error: error as Error };
  }
}

/** The file of a file-backed database (created on first open), undefined for a server database. */
export function databaseFile(target: DatabaseTarget): string | undefined {
  return targetFile(target);
}

/**
 * Whether two URLs name one database. Server hosts are compared by name, with the loopback spellings taken
 * as one; two different names of one server (a DNS alias) are not recognised, which the staging emptiness
 * check then catches, since production is never empty.
 */
export function sameDatabase(a: DatabaseTarget, b: DatabaseTarget): boolean {
  if ('file' in a || 'file' in b) {
    return 'file' in a && 'file' in b && canonicalFile(a.file) === canonicalFile(b.file);
  }
  return (
    a.kind === b.kind &&
    a.port === b.port &&
    a.database === b.database &&
    canonicalHost(a.host) === canonicalHost(b.host)
  );
}

function canonicalFile(file: string): string {
  return existsSync(file) ? realpathSync(file) : file;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function canonicalHost(host: string): string {
  const lower = host.toLowerCase();
  return LOOPBACK.has(lower) ? 'loopback' : lower;
}
