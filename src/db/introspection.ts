import type { IntrospectedForeignKey, IntrospectedTable } from './dialect.js';

/** One column as a server's catalogue lists it, in column order within its table. */
export interface CatalogueColumn {
  table: string;
  name: string;
  /** The engine's type name in any case. */
  type: string;
  nullable: boolean;
  /** Whether the engine generates its values (identity, serial, AUTO_INCREMENT). */
  generated: boolean;
}

/**
 * Some or all of an index's columns, in key order: a catalogue that lists one row per indexed column
 * gives one part per row, and the parts of one index (same table and name) are joined in the order given.
 */
export interface CatalogueIndexPart {
  table: string;
  name: string;
  columns: readonly string[];
  unique: boolean;
  primary: boolean;
}

/** Some or all of a foreign key's column pairs, joined like {@link CatalogueIndexPart} by table and constraint. */
export interface CatalogueReferencePart {
  table: string;
  constraint: string;
  columns: readonly string[];
  referencedTable: string;
  referencedColumns: readonly string[];
}

/**
 * The tables of a server database from its catalogue's rows, sorted by name. Tables are those that have
 * columns; indexes and keys of any other table are ignored.
 */
export function groupCatalogue(
  columns: readonly CatalogueColumn[],
  indexes: readonly CatalogueIndexPart[],
  references: readonly CatalogueReferencePart[],
): IntrospectedTable[] {
  const byName = new Map<string, IntrospectedTable>();
  for (const c of columns) {
    let table = byName.get(c.table);
    if (!table) {
      table = { name: c.table, columns: [], indexes: [], primaryKey: [], foreignKeys: [] };
      byName.set(c.table, table);
    }
    table.columns.push({ name: c.name, type: c.type.toLowerCase(), nullable: c.nullable });
    if (c.generated) table.identity = c.name;
  }
  for (const part of indexes) {
    const table = byName.get(part.table);
    if (!table) continue;
    const existing = table.indexes.find((index) => index.name === part.name);
    if (existing) existing.columns.push(...part.columns);
    else table.indexes.push({ name: part.name, columns: [...part.columns], unique: part.unique });
    if (part.primary) table.primaryKey.push(...part.columns);
  }
  const keys = new Map<string, IntrospectedForeignKey>();
  for (const part of references) {
    const id = `${part.table}.${part.constraint}`;
    let key = keys.get(id);
    if (!key) {
      key = { columns: [], referencedTable: part.referencedTable, referencedColumns: [] };
      keys.set(id, key);
      byName.get(part.table)?.foreignKeys.push(key);
    }
    key.columns.push(...part.columns);
    key.referencedColumns.push(...part.referencedColumns);
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
