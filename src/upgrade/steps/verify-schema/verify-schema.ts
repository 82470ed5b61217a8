import { redactDatabaseUrl } from '../../../db/url.js';
import { TesseraError } from '../../../errors.js';
import {
  captureSchema,
  describeDifference,
  diffSchemas,
  expectedSchema,
  type SchemaAdditions,
  type SchemaTable,
  schemaAdditions,
} from '../../../releases/expected-schema.js';
import { releaseSchemaLevel } from '../../../releases/matrix.js';
import type { Step } from '../../types.js';
import type { UpgradePlan } from '../../upgrade-plan.js';

/** What the schema verification records: the schema staging was found to have, and what is new in it. */
export interface VerifySchemaDetails {
  /** The schema level compared with: the target release's (a release that changes code only has its predecessor's). */
  release: string;
  tables: number;
  columns: number;
  indexes: number;
  newTables: string[];
  newColumns: string[];
}

/**
 * Upgrade step 6 (docs/architecture.md, The upgrade): staging, once migrated, must have exactly the target release's schema (tables, columns
 * with their types and nullability, indexes). Any difference stops the upgrade before anything is promoted.
 * Its name in the journal and on screen stays `checkpoints`, as existing journals and scripts know it.
 */
export const verifySchemaStep: Step<'checkpoints', VerifySchemaDetails> = {
  name: 'checkpoints',
  title: "Checkpoints: compare staging with the target release's expected schema",

  async describe(context) {
    const { plan } = context;
    const expected = expectedSchema(plan.targetRelease, plan.kind);
    return [
      `Introspect staging and compare it with the expected ${releaseSchemaLevel(plan.targetRelease)} schema (${countSchema(expected)}); any difference stops the upgrade.`,
      ...describeAdditions(additionsOf(plan), plan).map((line) => `Expect ${line}`),
    ];
  },

  async run(context) {
    const { plan } = context;
    const staging = await context.staging();
    const expected = expectedSchema(plan.targetRelease, plan.kind);
    const actual = await captureSchema(staging);
    const differences = diffSchemas(expected, actual);
    if (differences.length > 0) {
      throw new TesseraError(
        'CHECKPOINTS_FAILED',
        `Staging ${redactDatabaseUrl(plan.stagingUrl)} does not have the ${releaseSchemaLevel(plan.targetRelease)} schema (${differences.length} difference(s)):\n${differences.map((d) => `  - ${describeDifference(d)}`).join('\n')}`,
        {
          hint: 'Production is untouched. Drop staging, create it again empty and start the upgrade with a new --home; if the difference comes back, report it with this list.',
        },
      );
    }
    const additions = additionsOf(plan);
    for (const line of describeAdditions(additions, plan)) context.progress.line(`  ${line}`);
    return {
      release: releaseSchemaLevel(plan.targetRelease),
      tables: expected.length,
      columns: expected.reduce((sum, t) => sum + t.columns.length, 0),
      indexes: expected.reduce((sum, t) => sum + t.indexes.length, 0),
      newTables: additions.tables,
      newColumns: additions.columns,
    };
  },
};

/** New tables and columns of the target relative to the source release's expected schema. */
function additionsOf(plan: UpgradePlan): SchemaAdditions {
  return schemaAdditions(
    expectedSchema(plan.sourceRelease, plan.kind),
    expectedSchema(plan.targetRelease, plan.kind),
  );
}

function describeAdditions(additions: SchemaAdditions, plan: UpgradePlan): string[] {
  const since = `since ${plan.sourceRelease}`;
  return [
    `new tables ${since}: ${additions.tables.join(', ') || '(none)'}`,
    `new columns ${since}: ${additions.columns.join(', ') || '(none)'}`,
  ];
}

function countSchema(tables: readonly SchemaTable[]): string {
  const columns = tables.reduce((sum, t) => sum + t.columns.length, 0);
  const indexes = tables.reduce((sum, t) => sum + t.indexes.length, 0);
  return `${tables.length} tables, ${columns} columns, ${indexes} indexes`;
}
