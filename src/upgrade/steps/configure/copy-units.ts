import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { HomeLayout } from '../../../home/layout.js';

/** One folder the upgrade copies from the old home into the new one, verified on its own. */
export interface CopyUnit {
  /** The folder's path inside a home, e.g. `repository/tenants/3`. */
  label: string;
  source: string;
  target: string;
  /** Top-level entries left for a later unit. */
  exclude: readonly string[];
}

/** A tenant's folder in the old home: its id (the folder's name) and where it is. */
export interface TenantFolder {
  name: string;
  source: string;
}

const USERSTORES = 'userstores';

/**
 * The folders to copy, in the order that keeps a server able to load whatever it finds at any moment:
 * the super tenant's deployment folder, then every tenant's folder without its `userstores/`, then each
 * tenant's store files (a store file must never be there before its tenant's folder is).
 */
export function homeCopyUnits(
  oldLayout: HomeLayout,
  newLayout: HomeLayout,
  tenants: readonly TenantFolder[],
): CopyUnit[] {
  const units: CopyUnit[] = [];
  const unit = (source: string, exclude: readonly string[] = []): CopyUnit => {
    const label = toHomePath(oldLayout.root, source);
    return { label, source, target: path.join(newLayout.root, label), exclude };
  };
  if (existsSync(oldLayout.deployment)) units.push(unit(oldLayout.deployment));
  for (const tenant of tenants) units.push(unit(tenant.source, [USERSTORES]));
  for (const tenant of tenants) {
    const stores = path.join(tenant.source, USERSTORES);
    if (existsSync(stores)) units.push(unit(stores));
  }
  return units;
}

/**
 * The tenant folders under the old home's `repository/tenants/`, by id; entries that are not folders have
 * no meaning to the server and are returned apart, to be reported rather than copied.
 */
export async function listTenantFolders(
  oldLayout: HomeLayout,
): Promise<{ tenants: TenantFolder[]; ignored: string[] }> {
  if (!existsSync(oldLayout.tenants)) return { tenants: [], ignored: [] };
  const entries = await readdir(oldLayout.tenants, { withFileTypes: true });
  const tenants = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: entry.name, source: path.join(oldLayout.tenants, entry.name) }))
    .sort((a, b) => byTenantId(a.name, b.name));
  const ignored = entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => toHomePath(oldLayout.root, path.join(oldLayout.tenants, entry.name)));
  return { tenants, ignored };
}

/** A path inside a home as written in reports: relative, with `/`. */
export function toHomePath(root: string, absolute: string): string {
  return path.relative(root, absolute).split(path.sep).join('/');
}

function byTenantId(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  if (Number.isInteger(x) && Number.isInteger(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}
