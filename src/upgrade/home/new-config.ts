import { existsSync } from 'node:fs';
import { loadConfigFile } from '../../config/load.js';
import type { Database } from '../../db/connection.js';
import { redactDatabaseUrl } from '../../db/url.js';
import { TesseraError } from '../../errors.js';
import { assertStartable, inspectSchema } from '../../releases/guard.js';
import type { UpgradeContext } from '../types.js';

/**
 * Before the new release is started on the new home: its config (written by the configure step) must
 * point at the staging database, and staging must be at this release. Otherwise a start would run on
 * something else, or lay out a fresh database on an empty one.
 */
export async function assertNewHomeOnStaging(
  context: UpgradeContext,
  staging: Database<unknown>,
): Promise<void> {
  const { newLayout, plan } = context;
  if (!existsSync(newLayout.configFile)) {
    throw new TesseraError('CONFIG_INVALID', `The new home has no ${newLayout.configFile} yet.`, {
      hint: 'The configure step writes it: resume the upgrade with --resume.',
    });
  }
  const config = loadConfigFile(newLayout.configFile);
  if (config.database.url !== plan.stagingUrl) {
    throw new TesseraError(
      'CONFIG_INVALID',
      `${newLayout.configFile} points at ${redactDatabaseUrl(config.database.url)}, not at the upgraded database ${redactDatabaseUrl(plan.stagingUrl)}.`,
      {
        hint: 'Do not edit the new home during an upgrade; remove the file and resume, so that the configure step writes it again.',
      },
    );
  }
  const state = await inspectSchema(staging);
  if (state.status === 'empty') {
    throw new TesseraError('SCHEMA_EMPTY', `The staging database ${staging.label} is empty.`, {
      hint: 'The stage and migrate steps fill it: resume the upgrade with --resume.',
    });
  }
  assertStartable(state, staging.label);
}
