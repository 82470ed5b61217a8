import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DEPLOYMENT_DEFAULTS, type DeploymentConfig } from '../config/schema.js';
import { TesseraError } from '../errors.js';
import { ArchiveRefusedError } from './errors.js';
import {
  DEFAULT_EXTRACTION_LIMITS,
  type ExtractionLimits,
  type ExtractionSummary,
  extractZip,
} from './safe-zip.js';

/**
 * What one tenant may deploy (`[deployment]` in tessera.toml). Every tenant, the super tenant included,
 * has the same bounds, and each tenant's use is counted on its own: one tenant at its quota takes nothing
 * from another.
 */
export interface DeploymentQuotas {
  /** `deployment.max_apps_per_tenant`. */
  maxAppsPerTenant: number;
  /** `deployment.max_tenant_mb`, in bytes: the expanded size of all of a tenant's apps together. */
  maxTenantBytes: number;
  /** `deployment.max_app_mb`, in bytes: the expanded size of one app. */
  maxAppBytes: number;
}

const MIB = 1024 * 1024;

/** The quotas `[deployment]` in tessera.toml sets, in bytes. */
export function quotasFromConfig(config: Omit<DeploymentConfig, 'hotDeploy'>): DeploymentQuotas {
  return {
    maxAppsPerTenant: config.maxAppsPerTenant,
    maxTenantBytes: config.maxTenantMb * MIB,
    maxAppBytes: config.maxAppMb * MIB,
  };
}

export const DEFAULT_QUOTAS: Readonly<DeploymentQuotas> = Object.freeze(
  quotasFromConfig(DEPLOYMENT_DEFAULTS),
);

/** What a tenant's other apps take: everything deployed except the app about to be (re)deployed. */
export interface TenantUsage {
  apps: number;
  bytes: number;
}

export type QuotaKey =
  | 'deployment.max_apps_per_tenant'
  | 'deployment.max_tenant_mb'
  | 'deployment.max_app_mb'
  | 'deployment.max_upload_mb';

/** What to do about each quota, said at the end of every refusal (API answers carry no hint). */
const NEXT_STEP: Record<QuotaKey, string> = {
  'deployment.max_apps_per_tenant':
    'Undeploy an app first, or raise deployment.max_apps_per_tenant in tessera.toml.',
  'deployment.max_tenant_mb':
    'Undeploy an app or make this one smaller, or raise deployment.max_tenant_mb in tessera.toml.',
  'deployment.max_app_mb': 'Make the app smaller, or raise deployment.max_app_mb in tessera.toml.',
  'deployment.max_upload_mb':
    "Copy the zip into the tenant's webapps/ folder instead, or raise deployment.max_upload_mb in tessera.toml.",
};

/** A deployment refused because it would take a tenant past one of its quotas. */
export class QuotaExceededError extends TesseraError {
  readonly quota: QuotaKey;

  constructor(quota: QuotaKey, message: string) {
    super('QUOTA_EXCEEDED', `${message} ${NEXT_STEP[quota]}`, { hint: NEXT_STEP[quota] });
    this.name = 'QuotaExceededError';
    this.quota = quota;
  }
}

/** Refuses a new app when the tenant already has as many as it may; a redeploy of one it has is no new app. */
export function assertRoomForApp(
  quotas: DeploymentQuotas,
  tenant: string,
  app: string,
  others: TenantUsage,
): void {
  if (others.apps < quotas.maxAppsPerTenant) return;
  throw new QuotaExceededError(
    'deployment.max_apps_per_tenant',
    `App "${app}" refused: deployment.max_apps_per_tenant is ${quotas.maxAppsPerTenant} and ${tenant} ` +
      `already has ${others.apps} apps.`,
  );
}

/**
 * Extracts an app's zip without letting it take more than the smaller of the per-app bound and what is
 * left of the tenant's: the limit is checked against the sizes the zip's directory declares before a
 * byte is written, and against the bytes actually inflated while writing (see `safe-zip.ts`).
 */
export async function extractWithinQuota(
  zip: string,
  destination: string,
  quotas: DeploymentQuotas,
  tenant: string,
  app: string,
  others: TenantUsage,
): Promise<ExtractionSummary> {
  const limits = extractionLimits(quotas, others);
  try {
    return await extractZip(zip, destination, limits);
  } catch (error) {
    // Only a refusal on size becomes a quota refusal; too many entries stays an unsafe archive.
    if (error instanceof ArchiveRefusedError && error.bytes !== undefined && error.counted !== undefined)
      throw sizeRefusal(quotas, tenant, app, others, error.bytes, error.counted);
    throw error;
  }
}

/** Refuses a folder app larger than its bounds; measured without following links, as they are not served. */
export async function measureFolderWithinQuota(
  folder: string,
  quotas: DeploymentQuotas,
  tenant: string,
  app: string,
  others: TenantUsage,
): Promise<number> {
  const { maxBytes } = extractionLimits(quotas, others);
  // Counted up to the larger bound, so the refusal can say whether the app alone is too big.
  const bytes = await folderBytes(folder, quotas.maxAppBytes);
  if (bytes > maxBytes) throw sizeRefusal(quotas, tenant, app, others, bytes, 'measured');
  return bytes;
}

function extractionLimits(quotas: DeploymentQuotas, others: TenantUsage): ExtractionLimits {
  const tenantRoom = Math.max(0, quotas.maxTenantBytes - others.bytes);
  return { ...DEFAULT_EXTRACTION_LIMITS, maxBytes: Math.min(quotas.maxAppBytes, tenantRoom) };
}

/** Names the quota broken: the app's own when it alone is too big, else the tenant's. */
function sizeRefusal(
  quotas: DeploymentQuotas,
  tenant: string,
  app: string,
  others: TenantUsage,
  bytes: number,
  counted: 'declared' | 'inflated' | 'measured',
): QuotaExceededError {
  const size =
    counted === 'declared'
      ? `its zip declares ${bytes} bytes expanded`
      : counted === 'inflated'
        ? `it inflated past ${bytes} bytes while being extracted`
        : `it holds at least ${bytes} bytes`;
  if (bytes > quotas.maxAppBytes)
    return new QuotaExceededError(
      'deployment.max_app_mb',
      `App "${app}" refused: ${size}, and deployment.max_app_mb is ${mb(quotas.maxAppBytes)} ` +
        `(${quotas.maxAppBytes} bytes).`,
    );
  return new QuotaExceededError(
    'deployment.max_tenant_mb',
    `App "${app}" refused: ${size}, and deployment.max_tenant_mb is ${mb(quotas.maxTenantBytes)} ` +
      `(${quotas.maxTenantBytes} bytes) of which ${tenant}'s other apps use ${others.bytes} bytes.`,
  );
}

function mb(bytes: number): string {
  return `${Math.round((bytes / MIB) * 100) / 100} MB`;
}

/**
 * The bytes of the regular files under `folder`, links not followed. Stops counting once past `bound`,
 * so measuring a huge folder costs no more than the quota it breaks.
 */
export async function folderBytes(folder: string, bound = Number.POSITIVE_INFINITY): Promise<number> {
  let total = 0;
  const pending = [folder];
  while (pending.length > 0 && total <= bound) {
    const current = pending.pop() as string;
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) total += (await lstat(full)).size;
      if (total > bound) break;
    }
  }
  return total;
}
