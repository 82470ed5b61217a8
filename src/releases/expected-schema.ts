import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from '../db/connection.js';
import type { IntrospectedIndex, IntrospectedTable } from '../db/dialect.js';
import type { DatabaseKind } from '../db/url.js';
import { releaseSchemaLevel } from './matrix.js';
import { migrateTo } from './migrator.js';
import { RELEASES_DIR } from './scripts.js';

/**
 * The schema each release's scripts build, per engine, as the dialect's introspection reports it. The
 * snapshots are checked in beside the scripts (`<release>/<dialect>/schema.json`) and generated from fresh
 * databases by `scripts/snapshot-schemas.ts`; a test rebuilds them, so they cannot drift from the scripts.
 */
export const SCHEMA_SNAPSHOT_FILE = 'schema.json';

/**
 * What the checkpoints compare of a table: its columns (type, nullability) and indexes. The dialect may
 * report more (keys, identity); the snapshots keep to this, so that they change only when the scripts do.
 */
export type SchemaTable = Pick<IntrospectedTable, 'name' | 'columns' | 'indexes'>;

export interface SchemaSnapshot {
  release: string;
  kind: DatabaseKind;
  tables: SchemaTable[];
}

export function schemaSnapshotPath(release: string, kind: DatabaseKind): string {
  return path.join(RELEASES_DIR, release, kind, SCHEMA_SNAPSHOT_FILE);
}

const loaded = new Map<string, SchemaTable[]>();

/**
 * The tables, columns and indexes a database at `release` must have on engine `kind`: those of its schema
 * level's snapshot (a release that changes code only has its predecessor's).
 */
export function expectedSchema(release: string, kind: DatabaseKind): SchemaTable[] {
  const level = releaseSchemaLevel(release);
  const file = schemaSnapshotPath(level, kind);
  const cached = loaded.get(file);
  if (cached) return cached;
  if (!existsSync(file)) {
    throw new Error(
      `no expected schema for ${level} on ${kind} (${file}); generate it with npx vite-node scripts/snapshot-schemas.ts`,
    );
  }
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as SchemaSnapshot;
  if (snapshot.release !== level || snapshot.kind !== kind) {
    throw new Error(`${file} describes ${snapshot.release} on ${snapshot.kind}, not ${level} on ${kind}`);
  }
  loaded.set(file, snapshot.tables);
  return snapshot.tables;
}

/** The database's schema in the snapshots' order: tables and indexes by name, columns as the table has them. */
export async function captureSchema(database: Database<unknown>): Promise<SchemaTable[]> {
  const tables = await database.dialect.introspect(database.db);
  return tables
    .map((table) => ({
      name: table.name,
      columns: table.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
      indexes: table.indexes
        .map((i) => ({ name: i.name, columns: [...i.columns], unique: i.unique }))
        .sort((a, b) => byName(a.name, b.name)),
    }))
    .sort((a, b) => byName(a.name, b.name));
}

/** Builds `release` in an empty database with the release scripts and captures what they made. */
export async function buildSchemaSnapshot(
  database: Database<unknown>,
  release: string,
): Promise<SchemaSnapshot> {
  await migrateTo(database, release);
  return { release, kind: database.kind, tables: await captureSchema(database) };
}

/**
 * The snapshot as JSON laid out the way the project's formatter (Biome) lays it out, one column or index per
 * line, so that generated files pass `biome check` unchanged and their diffs stay readable.
 */
export function renderSchemaSnapshot(snapshot: SchemaSnapshot): string {
  return `${renderJson(snapshot, '', '', '').join('\n')}\n`;
}

const LINE_WIDTH = 110;
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function renderJson(value: unknown, indent: string, prefix: string, suffix: string): string[] {
  const json = value as Json;
  const inline = renderInline(json);
  // The snapshot and its tables stay expanded, like the formatter keeps an object written expanded.
  const forceExpanded = isObject(json) && ('tables' in json || 'indexes' in json);
  if (!forceExpanded && (indent + prefix + inline + suffix).length <= LINE_WIDTH) {
    return [indent + prefix + inline + suffix];
  }
  if (Array.isArray(json)) {
    const inner = json.flatMap((item, i) =>
      renderJson(item, `${indent}  `, '', i < json.length - 1 ? ',' : ''),
    );
    return [`${indent}${prefix}[`, ...inner, `${indent}]${suffix}`];
  }
  if (isObject(json)) {
    const entries = Object.entries(json);
    const inner = entries.flatMap(([key, item], i) =>
      renderJson(item, `${indent}  `, `${JSON.stringify(key)}: `, i < entries.length - 1 ? ',' : ''),
    );
    return [`${indent}${prefix}{`, ...inner, `${indent}}${suffix}`];
  }
  return [indent + prefix + inline + suffix];
}

function renderInline(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(renderInline).join(', ')}]`;
  if (isObject(value)) {
    const entries = Object.entries(value).map(
      ([key, item]) => `${JSON.stringify(key)}: ${renderInline(item)}`,
    );
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type SchemaDifference =
  | { kind: 'missing-table' | 'extra-table'; table: string }
  | { kind: 'missing-column' | 'extra-column'; table: string; column: string }
  | { kind: 'column-type'; table: string; column: string; expected: string; actual: string }
  | { kind: 'column-nullability'; table: string; column: string; expected: boolean; actual: boolean }
  | { kind: 'missing-index' | 'extra-index'; table: string; index: string }
  | { kind: 'index-differs'; table: string; index: string; expected: string; actual: string };

/**
 * Every way `actual` departs from `expected`, tables, columns and indexes matched by name. Column order is
 * not compared: no query of Tessera depends on it. No name is normalised: the introspected names of indexes
 * (including SQLite's `sqlite_autoindex_*` and PostgreSQL's `*_pkey`) are the same in every database the
 * scripts build, which the snapshot test checks on every engine.
 */
export function diffSchemas(
  expected: readonly SchemaTable[],
  actual: readonly SchemaTable[],
): SchemaDifference[] {
  const differences: SchemaDifference[] = [];
  const actualTables = new Map(actual.map((t) => [t.name, t]));
  for (const want of expected) {
    const have = actualTables.get(want.name);
    if (!have) differences.push({ kind: 'missing-table', table: want.name });
    else differences.push(...diffColumns(want, have), ...diffIndexes(want, have));
  }
  const expectedNames = new Set(expected.map((t) => t.name));
  for (const have of actual) {
    if (!expectedNames.has(have.name)) differences.push({ kind: 'extra-table', table: have.name });
  }
  return differences;
}

function diffColumns(want: SchemaTable, have: SchemaTable): SchemaDifference[] {
  const differences: SchemaDifference[] = [];
  const table = want.name;
  const actual = new Map(have.columns.map((c) => [c.name, c]));
  for (const column of want.columns) {
    const found = actual.get(column.name);
    if (!found) {
      differences.push({ kind: 'missing-column', table, column: column.name });
      continue;
    }
    if (found.type !== column.type) {
      differences.push({
        kind: 'column-type',
        table,
        column: column.name,
        expected: column.type,
        actual: found.type,
      });
    }
    if (found.nullable !== column.nullable) {
      differences.push({
        kind: 'column-nullability',
        table,
        column: column.name,
        expected: column.nullable,
        actual: found.nullable,
      });
    }
  }
  const expectedNames = new Set(want.columns.map((c) => c.name));
  for (const column of have.columns) {
    if (!expectedNames.has(column.name))
      differences.push({ kind: 'extra-column', table, column: column.name });
  }
  return differences;
}

function diffIndexes(want: SchemaTable, have: SchemaTable): SchemaDifference[] {
  const differences: SchemaDifference[] = [];
  const table = want.name;
  const actual = new Map(have.indexes.map((i) => [i.name, i]));
  for (const index of want.indexes) {
    const found = actual.get(index.name);
    if (!found) differences.push({ kind: 'missing-index', table, index: index.name });
    else if (indexShape(found) !== indexShape(index)) {
      differences.push({
        kind: 'index-differs',
        table,
        index: index.name,
        expected: indexShape(index),
        actual: indexShape(found),
      });
    }
  }
  const expectedNames = new Set(want.indexes.map((i) => i.name));
  for (const index of have.indexes) {
    if (!expectedNames.has(index.name)) differences.push({ kind: 'extra-index', table, index: index.name });
  }
  return differences;
}

/** An index as one comparable phrase: `unique (tenant_id, username)`. */
function indexShape(index: IntrospectedIndex): string {
  return `${index.unique ? 'unique ' : ''}(${index.columns.join(', ')})`;
}

/** One line an operator can act on. */
export function describeDifference(difference: SchemaDifference): string {
  switch (difference.kind) {
    case 'missing-table':
      return `table ${difference.table} is missing`;
    case 'extra-table':
      return `table ${difference.table} is not expected`;
    case 'missing-column':
      return `column ${difference.table}.${difference.column} is missing`;
    case 'extra-column':
      return `column ${difference.table}.${difference.column} is not expected`;
    case 'column-type':
      return `column ${difference.table}.${difference.column} is ${difference.actual}, expected ${difference.expected}`;
    case 'column-nullability':
      return `column ${difference.table}.${difference.column} is ${nullability(difference.actual)}, expected ${nullability(difference.expected)}`;
    case 'missing-index':
      return `index ${difference.index} on ${difference.table} is missing`;
    case 'extra-index':
      return `index ${difference.index} on ${difference.table} is not expected`;
    case 'index-differs':
      return `index ${difference.index} on ${difference.table} is ${difference.actual}, expected ${difference.expected}`;
  }
}

function nullability(nullable: boolean): string {
  return nullable ? 'nullable' : 'not null';
}

/** What a release adds to an earlier one: whole new tables, and new columns of tables that existed before. */
export interface SchemaAdditions {
  tables: string[];
  /** `table.column`, for tables present in both releases. */
  columns: string[];
}

export function schemaAdditions(from: readonly SchemaTable[], to: readonly SchemaTable[]): SchemaAdditions {
  const before = new Map(from.map((t) => [t.name, new Set(t.columns.map((c) => c.name))]));
  const tables: string[] = [];
  const columns: string[] = [];
  for (const table of to) {
    const existing = before.get(table.name);
    if (!existing) {
      tables.push(table.name);
      continue;
    }
    for (const column of table.columns) {
      if (!existing.has(column.name)) columns.push(`${table.name}.${column.name}`);
    }
  }
  return { tables, columns };
}

/** Code-point order, the same on every machine whatever its locale. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
