import { dialectModule } from '../../../db/connection.js';
import type { DatabaseTarget } from '../../../db/url.js';

/**
 * The command an operator types to create an empty staging database, quoted in refusals. Text only: the
 * engines' tools differ, and the exact command saves the operator a trip to the manual.
 */
export function createDatabaseCommand(target: DatabaseTarget): string {
  return dialectModule(target.kind).createDatabaseCommand(target);
}
