import type { DefaultRule, KeyRule } from './types.js';

/* Short constructors, so that a hop's rule table reads as a table. */

export const carry = (): KeyRule => ({ action: 'carry' });

export const rename = (to: string): KeyRule => ({ action: 'rename', to });

export const change = (to: string, convert: (value: unknown) => unknown, why: string): KeyRule => ({
  action: 'change',
  to,
  convert,
  why,
});

/** A change whose new value does not depend on the old one. */
export const replaceWith = (to: string, value: unknown, why: string): KeyRule => change(to, () => value, why);

export const drop = (why: string): KeyRule => ({ action: 'drop', why });

export const fill = (key: string, value: unknown, why: string): DefaultRule => ({ key, value, why });
