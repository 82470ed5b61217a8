import { TesseraError } from '../../errors.js';

/** Problems listed per line, at most this many, so a wholly different copy still gives a readable message. */
const MAX_LISTED = 20;

/** A copy or backup that does not match what it was made from: the run stops here (exit 1). */
export function verificationFailed(what: string, problems: readonly string[], hint?: string): TesseraError {
  const listed = problems.slice(0, MAX_LISTED);
  const more = problems.length > listed.length ? `\n  ... and ${problems.length - listed.length} more` : '';
  return new TesseraError('VERIFY_FAILED', `${what}:\n  ${listed.join('\n  ')}${more}`, hint ? { hint } : {});
}
