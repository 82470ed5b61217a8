import type { DatabaseTarget } from '../../../db/url.js';

type ServerTarget = Extract<DatabaseTarget, { host: string }>;

/**
 * The command an operator types to create an empty staging database, quoted in refusals. Text only: the
 * engines' tools differ, and the exact command saves the operator a trip to the manual.
 */
const CREATE_COMMANDS: Readonly<Record<ServerTarget['kind'], (target: ServerTarget) => string>> = {
  postgres: (t) => `createdb -h ${t.host} -p ${t.port} -U ${t.user} ${t.database}`,
  mysql: (t) =>
    `mysql -h ${t.host} -P ${t.port} -u ${t.user} -e 'CREATE DATABASE \`${t.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'`,
};

export function createDatabaseCommand(target: DatabaseTarget): string {
  if ('file' in target) return `nothing to create: the stage step creates ${target.file}`;
  return CREATE_COMMANDS[target.kind](target);
}
