import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseKind } from '../../../src/db/url.js';
import { TesseraError } from '../../../src/errors.js';
import { migrateStep } from '../../../src/upgrade/steps/migrate/migrate.js';
import { verifySchemaStep } from '../../../src/upgrade/steps/verify-schema/verify-schema.js';
import { DATABASE_KINDS } from '../../helpers/databases.js';
import { type StepScenario, stageLikeProduction, stepScenario } from './scenario.js';

const NEW_SINCE_1_0 = {
  newTables: [
    'store_domains',
    'audit_log',
    'cluster_nodes',
    'registry_properties',
    'registry_resources',
    'webapp_version_chunks',
    'webapp_versions',
    'webapps',
    'tenant_settings',
    'login_failures',
    'app_sessions',
    'totp_authenticators',
    'totp_recovery_codes',
    'oidc_clients',
    'oidc_keys',
    'oidc_payloads',
  ],
  newColumns: ['roles.is_system', 'users.is_system', 'users.password_algorithm', 'users.password_changed_at'],
};

/** Engines spell DROP INDEX differently; MySQL wants the table. */
const DROP_INDEX: Record<DatabaseKind, string> = {
  sqlite: 'drop index audit_log_tenant_time_idx',
  postgres: 'drop index audit_log_tenant_time_idx',
  mysql: 'drop index audit_log_tenant_time_idx on audit_log',
};

let scenario: StepScenario | undefined;

afterEach(async () => {
  await scenario?.dispose();
  scenario = undefined;
});

/** Staging copied from a 1.0.0 production and migrated to the current release (2.1.0). */
async function migrated(kind: DatabaseKind): Promise<StepScenario> {
  scenario = await stepScenario(kind, { release: '1.0.0' });
  await stageLikeProduction(scenario);
  await migrateStep.run(scenario.context, undefined);
  return scenario;
}

describe.each(DATABASE_KINDS)('checkpoints on %s', (kind) => {
  it('pass on a migrated staging and list the tables and columns new since the source', async () => {
    const s = await migrated(kind);
    const details = await verifySchemaStep.run(s.context, undefined);
    expect({
      newTables: [...(details.newTables as string[])].sort(),
      newColumns: details.newColumns,
    }).toEqual({
      newTables: [...NEW_SINCE_1_0.newTables].sort(),
      newColumns: NEW_SINCE_1_0.newColumns,
    });
    expect(details).toMatchObject({ release: '2.1.0', tables: 22 });
    expect(s.output).toContain(`  new columns since 1.0.0: ${NEW_SINCE_1_0.newColumns.join(', ')}`);
    expect(s.output.some((line) => line.startsWith('  new tables since 1.0.0: '))).toBe(true);
  });

  it('fail, listing every difference, when staging lost a column and an index', async () => {
    const s = await migrated(kind);
    const staging = await s.context.staging();
    await sql.raw(DROP_INDEX[kind]).execute(staging.db);
    await staging.db.schema.alterTable('audit_log').dropColumn('detail').execute();

    const error = await verifySchemaStep.run(s.context, undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TesseraError);
    expect(error).toMatchObject({ code: 'CHECKPOINTS_FAILED', exitCode: 1 });
    const message = (error as TesseraError).message;
    expect(message).toContain('does not have the 2.1.0 schema (2 difference(s))');
    expect(message).toContain('  - column audit_log.detail is missing');
    expect(message).toContain('  - index audit_log_tenant_time_idx on audit_log is missing');
  });

  it('describe the comparison without opening staging', async () => {
    scenario = await stepScenario(kind, { release: '1.1.0' });
    const lines = await verifySchemaStep.describe(scenario.context);
    expect(lines[0]).toMatch(
      /^Introspect staging and compare it with the expected 2\.1\.0 schema \(22 tables, /,
    );
    expect(lines).toContain(
      'Expect new tables since 1.1.0: app_sessions, audit_log, cluster_nodes, login_failures, oidc_clients, oidc_keys, oidc_payloads, registry_properties, registry_resources, tenant_settings, totp_authenticators, totp_recovery_codes, webapp_version_chunks, webapp_versions, webapps',
    );
    expect(lines).toContain(
      'Expect new columns since 1.1.0: users.password_algorithm, users.password_changed_at',
    );
  });
});
