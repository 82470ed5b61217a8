import path from 'node:path';
import { TesseraError } from '../../../errors.js';
import { type HomeLayout, webappsFolder } from '../../../home/layout.js';
import type { AppCheck } from './app-checks.js';

/** The flag that lets an upgrade promote with apps that do not start (README, Upgrading). */
export const ALLOW_APP_FAILURES_FLAG = '--allow-app-failures';

/** `tenant/app (runtime): why`, the why being the first line of the app's error. */
function namedWithReason(check: AppCheck): string {
  const runtime = check.runtime === undefined ? '' : ` (${check.runtime})`;
  const why = check.errorLines?.[0] ?? check.state;
  return `${check.tenant}/${check.name}${runtime}: ${why}`;
}

/**
 * The smoke step's refusal to let the upgrade promote: each app that does not start on the new release,
 * and why; where to fix it (the new home's copy: configure does not run again on a resume); and the flag.
 */
export function appFailure(
  failed: readonly AppCheck[],
  release: string,
  newLayout: HomeLayout,
): TesseraError {
  const folders = [...new Set(failed.map((check) => webappsFolder(newLayout, check.tenantId)))];
  const count = failed.length === 1 ? '1 app does' : `${failed.length} apps do`;
  return new TesseraError(
    'SMOKE_FAILED',
    `Smoke test: ${count} not start on Tessera ${release}: ${failed.map(namedWithReason).join('; ')}.`,
    {
      hint:
        `Production is untouched. Fix each app in the new home (${folders.map((folder) => path.relative(newLayout.root, folder)).join(', ')} under ${newLayout.root}; the old home is not copied again), ` +
        `then run the same command with --resume; or resume with ${ALLOW_APP_FAILURES_FLAG} to promote with them failing, recorded as warnings. ` +
        `See each app's log under ${path.join(newLayout.logs, 'apps')}.`,
    },
  );
}

/** The warnings an upgrade that promotes with failing apps prints and journals. */
export function appWarnings(failed: readonly AppCheck[]): string[] {
  return failed.map(
    (check) =>
      `warning: ${namedWithReason(check)} (does not start; let through by ${ALLOW_APP_FAILURES_FLAG})`,
  );
}
