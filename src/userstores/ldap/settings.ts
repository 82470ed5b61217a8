/**
 * What an LDAP store's file says beyond the keys every store has: how to bind, where users and groups
 * live, and which LDAP attributes hold names, memberships and claims.
 */
export interface LdapSettings {
  bindDn: string;
  bindPassword: string;
  userSearchBase: string;
  groupSearchBase: string;
  userObjectClass: string;
  groupObjectClass: string;
  userNameAttribute: string;
  groupNameAttribute: string;
  /** The group attribute listing its members' DNs. */
  memberAttribute: string;
  /** Claim name -> LDAP attribute, e.g. `email` -> `mail`. */
  attributes: Record<string, string>;
  /** How long connecting and each operation may take before the directory counts as down. */
  timeoutMs: number;
}

/** The file key of each setting, in the order files are written. */
const FILE_KEYS = {
  bindDn: 'bind_dn',
  bindPassword: 'bind_password',
  userSearchBase: 'user_search_base',
  groupSearchBase: 'group_search_base',
  userObjectClass: 'user_object_class',
  groupObjectClass: 'group_object_class',
  userNameAttribute: 'user_name_attribute',
  groupNameAttribute: 'group_name_attribute',
  memberAttribute: 'member_attribute',
  timeoutMs: 'timeout_ms',
  attributes: 'attributes',
} as const satisfies Record<keyof LdapSettings, string>;

type TextSetting = Exclude<keyof LdapSettings, 'attributes' | 'timeoutMs'>;

const REQUIRED: readonly TextSetting[] = ['bindDn', 'bindPassword', 'userSearchBase', 'groupSearchBase'];

export const LDAP_DEFAULTS = {
  userObjectClass: 'inetOrgPerson',
  groupObjectClass: 'groupOfNames',
  userNameAttribute: 'uid',
  groupNameAttribute: 'cn',
  memberAttribute: 'member',
  timeoutMs: 5_000,
} as const;

/** The keys an LDAP store file may hold besides the common ones. */
export const LDAP_FILE_KEYS: readonly string[] = Object.values(FILE_KEYS);

/** An attribute description (RFC 4512 descr); no options or OIDs, which no mapping here needs. */
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const NAMED_ATTRIBUTES: readonly TextSetting[] = [
  'userObjectClass',
  'groupObjectClass',
  'userNameAttribute',
  'groupNameAttribute',
  'memberAttribute',
];
const MAX_TIMEOUT_MS = 120_000;

/**
 * The first thing wrong with an LDAP file's own keys, as `: reason` or ` line N: reason` (`at(key)` gives
 * the prefix); undefined when all is well. Never quotes the bind password.
 */
export function ldapSettingsProblem(
  raw: Record<string, unknown>,
  at: (key: string) => string,
): string | undefined {
  for (const setting of REQUIRED) {
    const key = FILE_KEYS[setting];
    if (raw[key] === undefined) return `: the key "${key}" is missing (an LDAP store needs it).`;
  }
  for (const setting of Object.keys(FILE_KEYS) as (keyof LdapSettings)[]) {
    if (setting === 'attributes' || setting === 'timeoutMs') continue;
    const key = FILE_KEYS[setting];
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0 || /[\r\n\0]/.test(value))
      return `${at(key)}"${key}" must be a non-empty string on one line.`;
    if (NAMED_ATTRIBUTES.includes(setting) && !ATTRIBUTE_NAME.test(value))
      return `${at(key)}"${key}" = "${value}" is not an LDAP attribute or object class name.`;
  }
  const timeout = raw[FILE_KEYS.timeoutMs];
  if (
    timeout !== undefined &&
    (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > MAX_TIMEOUT_MS)
  ) {
    return `${at(FILE_KEYS.timeoutMs)}"${FILE_KEYS.timeoutMs}" must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}.`;
  }
  const attributes = raw[FILE_KEYS.attributes];
  if (attributes === undefined) return undefined;
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))
    return `${at(FILE_KEYS.attributes)}"attributes" must be a table of claim = "ldapAttribute".`;
  for (const [claim, attribute] of Object.entries(attributes)) {
    if (claim.length === 0 || claim.length > 255)
      return `${at(FILE_KEYS.attributes)}claim names in [attributes] must have 1 to 255 characters.`;
    if (typeof attribute !== 'string' || !ATTRIBUTE_NAME.test(attribute))
      return `${at(FILE_KEYS.attributes)}[attributes] "${claim}" must name an LDAP attribute, like "mail".`;
  }
  return undefined;
}

/** The settings of a file whose keys `ldapSettingsProblem` accepted, defaults filled in. */
export function readLdapSettings(raw: Record<string, unknown>): LdapSettings {
  const text = (setting: TextSetting): string | undefined => {
    const value = raw[FILE_KEYS[setting]];
    return typeof value === 'string' ? value : undefined;
  };
  const attributes = raw[FILE_KEYS.attributes];
  const timeout = raw[FILE_KEYS.timeoutMs];
  return {
    bindDn: text('bindDn') ?? '',
    bindPassword: text('bindPassword') ?? '',
    userSearchBase: text('userSearchBase') ?? '',
    groupSearchBase: text('groupSearchBase') ?? '',
    userObjectClass: text('userObjectClass') ?? LDAP_DEFAULTS.userObjectClass,
    groupObjectClass: text('groupObjectClass') ?? LDAP_DEFAULTS.groupObjectClass,
    userNameAttribute: text('userNameAttribute') ?? LDAP_DEFAULTS.userNameAttribute,
    groupNameAttribute: text('groupNameAttribute') ?? LDAP_DEFAULTS.groupNameAttribute,
    memberAttribute: text('memberAttribute') ?? LDAP_DEFAULTS.memberAttribute,
    // fromEntries defines own properties, so a claim named `__proto__` stays a claim.
    attributes:
      typeof attributes === 'object' && attributes !== null
        ? Object.fromEntries(Object.entries(attributes).filter(([, v]) => typeof v === 'string'))
        : {},
    timeoutMs: typeof timeout === 'number' ? timeout : LDAP_DEFAULTS.timeoutMs,
  };
}

/** The file keys of the settings given (as the API or a file gave them), for validating and writing. */
export function ldapFileKeys(settings: Partial<LdapSettings>): Record<string, unknown> {
  const keys: Record<string, unknown> = {};
  for (const setting of Object.keys(FILE_KEYS) as (keyof LdapSettings)[]) {
    const value = settings[setting];
    if (value === undefined) continue;
    if (setting === 'attributes') {
      if (Object.keys(settings.attributes ?? {}).length > 0) keys[FILE_KEYS[setting]] = value;
      continue;
    }
    keys[FILE_KEYS[setting]] = value;
  }
  return keys;
}
