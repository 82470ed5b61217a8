import path from 'node:path';
import type { HomeLayout } from '../../../home/layout.js';

/** One of the temporary tenants the smoke test creates, with its own secondary store. */
export interface SmokeTenant {
  domain: string;
  store: string;
  /** The store's SQLite database, relative to the new home. */
  storeUrl: string;
}

/**
 * The names of everything the smoke test creates, derived from the upgrade's id so that a resumed attempt
 * finds (and removes) what an interrupted one left.
 */
export interface SmokeNames {
  runId: string;
  /** The temporary super tenant admin the checks call the API as. */
  admin: string;
  /** How the audit log names that admin. */
  auditActor: string;
  tenants: SmokeTenant[];
  user: string;
  app: string;
  /** Written into each smoke tenant's folder, so that the folder is recognised wherever it ends up. */
  markerFile: string;
  /** `work/smoke-<id>/` in the new home: the smoke stores' databases. */
  workFolder: string;
}

export function smokeNames(journalId: string, newLayout: HomeLayout): SmokeNames {
  const runId = journalId
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 8)
    .toLowerCase();
  const admin = `tessera-smoke-${runId}`;
  const workRelative = `work/smoke-${runId}`;
  const tenant = (letter: string): SmokeTenant => ({
    domain: `${letter}-${runId}.smoke.invalid`,
    store: `SMOKE_${letter.toUpperCase()}`,
    storeUrl: `sqlite:${workRelative}/store-${letter}.db`,
  });
  return {
    runId,
    admin,
    auditActor: `${admin}@carbon.super`,
    tenants: [tenant('a'), tenant('b')],
    user: 'smoke-user',
    app: `smoke-${runId}`,
    markerFile: `.tessera-smoke-${runId}`,
    workFolder: path.join(newLayout.root, ...workRelative.split('/')),
  };
}
