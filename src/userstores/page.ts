import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { TesseraError } from '../errors.js';
import type { Page } from './types.js';

/** The most rows one page may ask for: a page's ids are bound as parameters in one query per detail table. */
export const MAX_PAGE_SIZE = 1000;

export function checkPage(page: Page): void {
  const { limit, offset } = page;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE_SIZE) {
    throw new TesseraError(
      'BAD_REQUEST',
      `The page limit must be a whole number from 0 to ${MAX_PAGE_SIZE}, not ${limit}.`,
    );
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new TesseraError('BAD_REQUEST', `The page offset must be a whole number from 0, not ${offset}.`);
  }
}

/**
 * `column` starts with `prefix`, case-sensitively on every engine. LIKE is not used: SQLite's LIKE ignores
 * ASCII case and `_` is both a wildcard and a legal name character, while `substr` and `=` behave the same
 * everywhere. The length is counted in code points, as all three engines count characters.
 */
export function startsWith(column: string, prefix: string): RawBuilder<SqlBool> {
  const length = [...prefix].length;
  return sql<SqlBool>`substr(${sql.ref(column)}, 1, ${sql.lit(length)}) = ${prefix}`;
}
