import {
  AndFilter,
  DN,
  type Entry,
  EqualityFilter,
  type Filter,
  PresenceFilter,
  SubstringFilter,
} from 'ldapts';

/**
 * `attribute=value,parent` with the value escaped as RFC 4514 asks, so that a name such as `a,ou=admins`
 * stays one RDN value instead of moving the entry elsewhere in the tree.
 */
export function childDn(attribute: string, value: string, parent: string): string {
  return `${new DN({ [attribute]: value }).toString()},${parent}`;
}

/**
 * A DN in a form two spellings of the same DN share: escapes decoded (slapd answers `\2B` where a client
 * wrote `\+`), attribute names and values without case (as the schemas used for names here compare them),
 * and no spaces around separators. Only for comparing: the result is not a valid DN.
 */
export function normalizeDn(dn: string): string {
  return dn
    .replace(/\s*([,=+])\s*/g, '$1')
    .replace(/((?:\\[0-9a-fA-F]{2})+)|\\(.)/g, (_, hex: string | undefined, char: string | undefined) =>
      hex === undefined ? (char ?? '') : Buffer.from(hex.replace(/\\/g, ''), 'hex').toString('utf8'),
    )
    .toLowerCase();
}

/** The string values of one attribute of an entry; attribute names match without case, as in LDAP. */
export function valuesOf(entry: Entry, attribute: string): string[] {
  const wanted = attribute.toLowerCase();
  const key = Object.keys(entry).find((k) => k !== 'dn' && k.toLowerCase() === wanted);
  if (key === undefined) return [];
  const raw = entry[key];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.map((value) => (Buffer.isBuffer(value) ? value.toString('utf8') : value));
}

export function firstValue(entry: Entry, attribute: string): string | undefined {
  return valuesOf(entry, attribute)[0];
}

/**
 * Entries of `objectClass` whose `attribute` equals `value`, or starts with `prefix`, or (neither given) is
 * present. ldapts' filter classes escape the values, so a name like `*)(uid=*` matches nothing but itself.
 */
export function filterFor(
  objectClass: string,
  attribute: string,
  match: { value: string } | { prefix: string | undefined },
): Filter {
  const classFilter = new EqualityFilter({ attribute: 'objectClass', value: objectClass });
  let nameFilter: Filter;
  if ('value' in match) nameFilter = new EqualityFilter({ attribute, value: match.value });
  else if (match.prefix) nameFilter = new SubstringFilter({ attribute, initial: match.prefix });
  else nameFilter = new PresenceFilter({ attribute });
  return new AndFilter({ filters: [classFilter, nameFilter] });
}
