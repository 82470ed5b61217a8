/**
 * What tells a database a JDBC store may use from one it must leave alone: no tables at all (Tessera
 * creates the store's), or exactly a store's tables with their columns. Anything else is someone else's
 * data, which adding a store would write tables into (and a store on the server's own database would
 * share the PRIMARY store's users).
 */

/** The tables a JDBC store uses, with the columns Tessera reads from each. */
const STORE_TABLES: Record<string, readonly string[]> = {
  users: ['id', 'tenant_id', 'username', 'password_hash', 'password_salt', 'password_algorithm', 'is_system'],
  roles: ['id', 'tenant_id', 'name', 'is_system'],
  user_roles: ['user_id', 'role_id'],
  user_attributes: ['user_id', 'name', 'value'],
};

export interface TableColumns {
  name: string;
  columns: readonly { name: string }[];
}

/** Why a database with these tables cannot be a store's, or undefined when it can. */
export function storeTablesProblem(tables: readonly TableColumns[]): string | undefined {
  const byName = new Map(tables.map((t) => [t.name.toLowerCase(), t]));
  // Only whether there are any is said: the names of another application's tables are not the caller's to learn.
  if ([...byName.keys()].some((name) => STORE_TABLES[name] === undefined)) {
    return "The database already holds tables that are not a Tessera user store's; a store needs an empty database or one that holds a Tessera store.";
  }
  const present = Object.keys(STORE_TABLES).filter((name) => byName.has(name));
  if (present.length === 0) return undefined;
  const missing = Object.keys(STORE_TABLES).filter((name) => !byName.has(name));
  if (missing.length > 0) {
    return `The database has the store table${present.length > 1 ? 's' : ''} ${present.join(', ')} but not ${missing.join(', ')}; it does not look like a Tessera user store.`;
  }
  for (const [name, columns] of Object.entries(STORE_TABLES)) {
    const have = new Set(byName.get(name)?.columns.map((c) => c.name.toLowerCase()));
    const lacking = columns.filter((c) => !have.has(c));
    if (lacking.length > 0)
      return `The table ${name} lacks the column${lacking.length > 1 ? 's' : ''} ${lacking.join(', ')}.`;
  }
  return undefined;
}
