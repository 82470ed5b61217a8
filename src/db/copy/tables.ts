import { type Kysely, sql } from 'kysely';
import { TesseraError } from '../../errors.js';
import type { Dialect, IntrospectedTable } from '../dialect.js';

/** What the data functions need of a database: a query builder (or a read snapshot of it) and its dialect. */
export interface DataSource {
  readonly db: Kysely<unknown>;
  readonly dialect: Dialect;
}

/** A table as copies, dumps and checksums see it. */
export interface TableInfo {
  name: string;
  /** In the table's own column order. */
  columns: string[];
  /** The order rows are read, hashed and dumped in. */
  primaryKey: string[];
  /** The column whose generator must move past copied ids, when there is one. */
  identity?: string;
  /** Tables its foreign keys point to (itself excluded): loaded before it when constraints are checked. */
  parents?: string[];
}

/**
 * The database's tables, every table after the tables its foreign keys point to, so that rows can be
 * loaded in this order (and deleted in the reverse one) with the constraints on.
 */
export async function listTables(source: DataSource): Promise<TableInfo[]> {
  return orderParentsFirst(await source.dialect.introspect(source.db)).map(toTableInfo);
}

/** Topological order over the foreign keys; among tables free to go next, by name, so the order is stable. */
export function orderParentsFirst(tables: readonly IntrospectedTable[]): IntrospectedTable[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const parentsOf = new Map(
    tables.map((t) => [
      t.name,
      new Set(
        t.foreignKeys
          .map((k) => k.referencedTable)
          .filter((parent) => parent !== t.name && byName.has(parent)),
      ),
    ]),
  );
  const ordered: IntrospectedTable[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const ready = [...byName.keys()]
      .filter((name) => !placed.has(name) && [...(parentsOf.get(name) ?? [])].every((p) => placed.has(p)))
      .sort();
    if (ready.length === 0) {
      const cycle = [...byName.keys()].filter((name) => !placed.has(name)).sort();
      throw new TesseraError(
        'SCHEMA_TAMPERED',
        `Tables ${cycle.join(', ')} reference each other in a cycle; Tessera cannot order them for a copy.`,
      );
    }
    for (const name of ready) {
      placed.add(name);
      ordered.push(byName.get(name) as IntrospectedTable);
    }
  }
  return ordered;
}

function toTableInfo(table: IntrospectedTable): TableInfo {
  if (table.primaryKey.length === 0) {
    throw new TesseraError(
      'SCHEMA_TAMPERED',
      `Table ${table.name} has no primary key; Tessera reads, copies and checks tables in primary-key order.`,
      { hint: 'Every Tessera table has a primary key: this table was not created by a Tessera release.' },
    );
  }
  return {
    name: table.name,
    columns: table.columns.map((c) => c.name),
    primaryKey: [...table.primaryKey],
    parents: [...new Set(table.foreignKeys.map((k) => k.referencedTable))].filter((p) => p !== table.name),
    ...(table.identity !== undefined ? { identity: table.identity } : {}),
  };
}

export async function countRows(source: DataSource, table: string): Promise<number> {
  const result = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
    source.db,
  );
  return Number(result.rows[0]?.n ?? 0);
}

/** Deletes every row of `table` (a copy that stopped half-way is redone from an empty table). */
export async function emptyTable(source: DataSource, table: string): Promise<void> {
  await sql`delete from ${sql.table(table)}`.execute(source.db);
}

/** Moves the id generators of the tables that have one past the ids that were copied in. */
export async function syncIdentities(target: DataSource, tables: readonly TableInfo[]): Promise<void> {
  for (const table of tables) {
    if (table.identity !== undefined)
      await target.dialect.syncIdentity(target.db, table.name, table.identity);
  }
}
