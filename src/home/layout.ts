import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PRIVATE_FOLDER_MODE } from './private-modes.js';

export const SUPER_TENANT_ID = -1234;
export const SUPER_TENANT_DOMAIN = 'carbon.super';

/** Where everything lives inside a Tessera home (README, The home). */
export interface HomeLayout {
  root: string;
  conf: string;
  configFile: string;
  database: string;
  deployment: string;
  tenants: string;
  logs: string;
  backups: string;
  /** Extracted `.zip` webapps and other rebuildable state. */
  work: string;
}

export function homeLayout(root: string): HomeLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    conf: path.join(abs, 'conf'),
    configFile: path.join(abs, 'conf', 'tessera.toml'),
    database: path.join(abs, 'repository', 'database'),
    deployment: path.join(abs, 'repository', 'deployment', 'server'),
    tenants: path.join(abs, 'repository', 'tenants'),
    logs: path.join(abs, 'logs'),
    backups: path.join(abs, 'backups'),
    work: path.join(abs, 'work'),
  };
}

/** The folder holding a tenant's `webapps/` and `userstores/`: the deployment folder for the super tenant. */
export function tenantFolder(layout: HomeLayout, tenantId: number): string {
  return tenantId === SUPER_TENANT_ID ? layout.deployment : path.join(layout.tenants, String(tenantId));
}

export function webappsFolder(layout: HomeLayout, tenantId: number): string {
  return path.join(tenantFolder(layout, tenantId), 'webapps');
}

export function userstoresFolder(layout: HomeLayout, tenantId: number): string {
  return path.join(tenantFolder(layout, tenantId), 'userstores');
}

/**
 * The one folder an app's process may write (`TESSERA_DATA_DIR`): `<tenant folder>/appdata/<app>`. It lies
 * in the tenant's folder so that upgrades and exports, which carry tenant folders whole, carry it too; it
 * outlives undeploys and redeploys of the app.
 */
export function appDataFolder(layout: HomeLayout, tenantId: number, app: string): string {
  return path.join(tenantFolder(layout, tenantId), 'appdata', app);
}

/**
 * Where node apps run from on this node: `<work>/apps/<tenantId>/<app>/<n>/`, one copy of the app's folder
 * per started version (n increasing), so a redeploy or an edit of the source never changes the files under
 * a running process. Rebuildable state: a copy goes when its process stops, and a node's start clears them.
 */
export function appRunsFolder(layout: HomeLayout): string {
  return path.join(layout.work, 'apps');
}

export function ensureTenantFolders(layout: HomeLayout, tenantId: number): void {
  mkdirSync(webappsFolder(layout, tenantId), { recursive: true, mode: PRIVATE_FOLDER_MODE });
  mkdirSync(userstoresFolder(layout, tenantId), { recursive: true, mode: PRIVATE_FOLDER_MODE });
}

export function ensureHomeLayout(layout: HomeLayout): void {
  for (const dir of [
    layout.conf,
    layout.database,
    layout.tenants,
    layout.logs,
    layout.backups,
    layout.work,
  ]) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  }
  ensureTenantFolders(layout, SUPER_TENANT_ID);
}
