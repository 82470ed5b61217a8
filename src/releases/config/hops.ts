import type { ConfigFormat } from '../../config/config-format.js';
import { TesseraError } from '../../errors.js';
import { CONFIG_1_0_TO_1_1 } from '../1.1.0/config-rules.js';
import { CONFIG_1_1_TO_2_0 } from '../2.0.0/config-rules.js';
import { CONFIG_2_0_TO_2_1 } from '../2.1.0/config-rules.js';
import type { HopRules } from './types.js';

/** Every config hop, oldest first: a new release adds its table here. */
export const CONFIG_HOPS: readonly HopRules[] = [CONFIG_1_0_TO_1_1, CONFIG_1_1_TO_2_0, CONFIG_2_0_TO_2_1];

/** The hops that lead from one format to another, in order; none when they are the same. */
export function hopsBetween(from: ConfigFormat, to: ConfigFormat): HopRules[] {
  const hops: HopRules[] = [];
  let current = from;
  while (current !== to) {
    const next = CONFIG_HOPS.find((hop) => hop.from === current);
    if (next === undefined) {
      throw new TesseraError('CONFIG_INVALID', `There are no rules to turn a ${from} config into ${to}.`, {
        hint: 'Upgrade to a release whose config format this Tessera knows.',
      });
    }
    hops.push(next);
    current = next.to;
  }
  return hops;
}

export function hopLabel(hop: HopRules): string {
  return `${hop.from} -> ${hop.to}`;
}
