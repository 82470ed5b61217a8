import path from 'node:path';
import type { DatabaseKind } from '../src/db/url.js';

/** `--name value` pairs after the script name, as every bench takes them. */
export function benchArgs(argv: readonly string[] = process.argv): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 2; i < argv.length; i += 2) args.set(argv[i]?.replace(/^--/, '') ?? '', argv[i + 1] ?? '');
  return args;
}

/** The fixture size and engines the upgrade benches share, with their defaults. */
export function fixtureOptions(
  args: Map<string, string>,
  defaults: { users: number; tenants: number } = { users: 100_000, tenants: 100 },
): {
  users: number;
  tenants: number;
  engines: DatabaseKind[];
} {
  return {
    users: Number(args.get('users') ?? defaults.users),
    tenants: Number(args.get('tenants') ?? defaults.tenants),
    engines: (args.get('engines') ?? 'sqlite,postgres,mysql').split(',') as DatabaseKind[],
  };
}

/** The local database servers the benches create their scratch databases on, as the tests do. */
export const BENCH_SERVERS = {
  postgres: 'postgres://postgres@127.0.0.1:5432',
  mysql: 'mysql://root@127.0.0.1:3306',
} as const;

export const CLI = path.resolve('bin/tessera.js');

/** The `tessera fixture` arguments both upgrade benches build their production with (1.0.0 unless told). */
export function fixtureArgs(
  home: string,
  databaseUrl: string,
  size: { users: number; tenants: number },
  release = '1.0.0',
): string[] {
  return [
    'fixture',
    '--release',
    release,
    '--home',
    home,
    '--db',
    databaseUrl,
    '--tenants',
    String(size.tenants),
    '--users',
    String(size.users),
  ];
}
