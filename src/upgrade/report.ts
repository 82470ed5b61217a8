import { redactDatabaseUrl } from '../db/url.js';
import { formatBytesJedec } from '../progress/bytes.js';
import type { ConfigChange } from '../releases/config/types.js';
import type { JournalWithOutage } from './first-serving.js';
import { stepRecord } from './journal.js';
import { pathOf } from './path-choice.js';
import { configureStep } from './steps/configure/configure.js';
import { stepsFor } from './steps/index.js';
import { describeAppCheck } from './steps/smoke/app-checks.js';
import { type SmokeDetails, smokeStep } from './steps/smoke/smoke.js';
import type { StageDetails } from './steps/stage/details.js';
import { stageStep } from './steps/stage/stage.js';
import { verifySchemaStep } from './steps/verify-schema/verify-schema.js';

const seconds = (ms: number | undefined) =>
  ms === undefined ? '-' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** The upgrade journal as an operator reads it: the steps, their timings and facts, and the outage. */
export function renderReport(data: JournalWithOutage): string {
  const lines: string[] = [];
  const { plan } = data;
  lines.push(`Upgrade ${data.id} — ${data.status}`);
  lines.push(`  ${plan.kind}: ${plan.sourceRelease} -> ${plan.targetRelease} via ${plan.hops.join(' -> ')}`);
  lines.push(`  from home ${data.command.fromHome}`);
  lines.push(`  into home ${data.command.home}`);
  lines.push(`  production ${plan.productionUrl}  staging ${plan.stagingUrl}`);
  lines.push(`  path ${pathOf(plan)}: ${plan.path?.reason ?? 'the plan predates the online path'}`);
  lines.push(`  started ${data.createdAt}, last written ${data.updatedAt}`);
  lines.push(...freezeLines(data));
  lines.push('');
  lines.push('  step         status    duration   attempts');
  for (const step of stepsFor(plan)) {
    const record = stepRecord(data, step);
    lines.push(
      `  ${step.name.padEnd(12)} ${record.status.padEnd(9)} ${seconds(record.durationMs).padStart(9)}   ${record.attempts}`,
    );
    if (record.error) lines.push(`      ${record.error.code}: ${record.error.message}`);
  }
  lines.push(...stageLines(stepRecord(data, stageStep).details ?? {}));
  const schema = stepRecord(data, verifySchemaStep).details ?? {};
  if (Array.isArray(schema.newTables) || Array.isArray(schema.newColumns)) {
    lines.push('', '  schema checkpoints passed; new in the target release:');
    for (const table of schema.newTables ?? []) lines.push(`    table  ${table}`);
    for (const column of schema.newColumns ?? []) lines.push(`    column ${column}`);
  }
  const { report } = stepRecord(data, configureStep).details ?? {};
  if (report) {
    lines.push('', '  configuration carried over:');
    for (const entry of report) lines.push(`    ${formatConfigEntry(entry)}`);
  }
  lines.push(...appLines(stepRecord(data, smokeStep).details ?? {}));
  const { outage } = data;
  // On the online path the nodes served logins and reads throughout: what is measured is the write window.
  const what = data.freeze ? 'write window' : 'outage';
  const from = data.freeze ? 'production frozen' : 'last node found stopped';
  if (outage?.open) {
    lines.push(
      '',
      `  ${what}: ${seconds(outage.durationMs)} so far (from ${outage.startedAt}, ${from}, to ${outage.endedAt}, promote's readiness probe); ${outage.endedBy}`,
    );
  } else if (outage) {
    lines.push(
      '',
      `  ${what}: ${seconds(outage.durationMs)} (from ${outage.startedAt}, ${from}, to ${outage.endedAt}, ${outage.endedBy}; promote's own probe answered after ${seconds(outage.measuredAtPromote.durationMs)})`,
    );
  }
  // Step errors and facts may quote a URL too, and a journal of an earlier release holds passwords.
  return redactDatabaseUrl(`${lines.join('\n')}\n`);
}

/** The online path's freeze: when writes stopped, whether the nodes acknowledged, and how it ended. */
function freezeLines(data: JournalWithOutage): string[] {
  const { freeze } = data;
  const lines: string[] = [];
  if (freeze) {
    const at = (ms: number) => new Date(ms).toISOString();
    lines.push(
      `  frozen at ${at(freeze.startedAt)} (maintenance generation ${freeze.generation})${freeze.ackedAt === undefined ? ', not acknowledged by every node' : `, acknowledged by every live node after ${seconds(freeze.ackedAt - freeze.startedAt)}`}${freeze.releasedAt === undefined ? '' : `; released at ${at(freeze.releasedAt)}`}`,
    );
  }
  if (data.status === 'aborted') lines.push(`  aborted at ${data.abortedAt ?? '?'}`);
  return lines;
}

/**
 * The tables staged and how they were checked. A page digest covers every table at once (SQLite), so it is
 * said once; a clone copied files, not rows, so its size and time are given and the rows are the counts of
 * the verification.
 */
function stageLines(stage: Partial<StageDetails>): string[] {
  const { tables } = stage;
  if (!tables) return [];
  // Read from JSON, maybe written by an earlier release: each fact is checked before it is shown.
  const pageDigest = typeof stage.pageDigest === 'string' ? stage.pageDigest : undefined;
  const clone = stage.clone;
  const lines = [''];
  if (clone !== undefined && typeof clone.ms === 'number') {
    const size = typeof clone.bytes === 'number' ? formatBytesJedec(clone.bytes) : 'production';
    lines.push(
      `  staging cloned by the server: ${size} in ${seconds(clone.ms)} (${String(stage.cloneMethod ?? stage.method)})`,
    );
    lines.push('  rows on staging (counted by the verification, and checked by checksum):');
  } else if (pageDigest !== undefined) {
    lines.push(`  staging's file compared page for page with production's: equal, SHA-256 ${pageDigest}`);
    lines.push('  rows copied to staging (verified by count, and by the pages above):');
  } else {
    lines.push('  rows copied to staging (verified by count and checksum):');
  }
  for (const [name, table] of Object.entries(tables)) {
    const checksum = pageDigest !== undefined ? '' : `  ${table.checksum ?? ''}`;
    lines.push(`    ${name.padEnd(24)} ${String(table.rows ?? '?').padStart(10)}${checksum}`.trimEnd());
  }
  return lines;
}

/** The apps the smoke test started on the new release: each one's state and answer, and why one failed. */
function appLines(smoke: Partial<SmokeDetails>): string[] {
  const { apps } = smoke;
  // A journal of an earlier release has no app checks.
  if (apps === undefined || !Array.isArray(apps.checked)) return [];
  const failed = apps.checked.filter((check) => !check.ok).length;
  const verdict =
    failed === 0
      ? 'all started'
      : `${failed} did not start${apps.failuresAllowed ? ', let through by --allow-app-failures' : ''}`;
  const lines = [
    '',
    `  apps checked on the new release: ${apps.checked.length} in ${seconds(apps.ms)}, ${verdict}`,
  ];
  for (const check of apps.checked) {
    const mark = check.ok ? 'ok  ' : apps.failuresAllowed ? 'warn' : 'FAIL';
    lines.push(`    ${mark} ${describeAppCheck(check)}`);
    for (const line of check.errorLines ?? []) lines.push(`           ${line}`);
  }
  return lines;
}

function formatConfigEntry(entry: ConfigChange): string {
  const parts = Object.entries(entry)
    .filter(([key]) => key !== 'kind')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return `${String(entry.kind).padEnd(9)} ${parts.join('  ')}`;
}
