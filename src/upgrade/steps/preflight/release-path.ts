import { isTesseraError } from '../../../errors.js';
import { compareVersions, getRelease, RELEASES, upgradePath } from '../../../releases/matrix.js';
import type { CheckResult } from '../../types.js';
import type { UpgradePlan } from '../../upgrade-plan.js';

export const RELEASE_PATH_CHECK = 'release-path';

/** The target must be newer than production's release and reachable through the release matrix. */
export function checkReleasePath(plan: UpgradePlan): CheckResult {
  const { sourceRelease: from, targetRelease: to } = plan;
  const known = RELEASES.map((r) => r.version).join(', ');
  try {
    getRelease(from);
    getRelease(to);
  } catch (error) {
    return fail(
      `${(error as Error).message} This Tessera knows ${known}.`,
      `Pass --to with one of ${known}.`,
    );
  }
  if (compareVersions(to, from) <= 0) {
    return fail(
      `The target ${to} is not newer than production's release ${from}: an upgrade only moves forward.`,
      `Pass --to with a release newer than ${from}, or leave production as it is.`,
    );
  }
  let hops: string[];
  try {
    hops = upgradePath(from, to);
  } catch (error) {
    if (!isTesseraError(error)) throw error;
    return fail(error.message, `Upgrade to a release on the way first; the matrix knows ${known}.`);
  }
  if (hops.join() !== plan.hops.join()) {
    return fail(
      `The plan goes ${plan.hops.join(' -> ')}, but this Tessera's release matrix goes ${hops.join(' -> ')}.`,
      'Resume the upgrade with the Tessera build that started it, or start it again with a new --home.',
    );
  }
  return {
    name: RELEASE_PATH_CHECK,
    ok: true,
    message: `${from} -> ${hops.join(' -> ')} through the release matrix.`,
  };
}

function fail(message: string, hint: string): CheckResult {
  return { name: RELEASE_PATH_CHECK, ok: false, message, hint };
}
