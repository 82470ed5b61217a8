/** A user as a store returns it; never carries a password or hash. */
export interface StoreUser {
  /** The name inside its store, without store prefix or tenant suffix. */
  username: string;
  roles: string[];
  attributes: Record<string, string>;
  system: boolean;
  /**
   * From `authenticate` of a store that records it (PRIMARY): when the password was last set, epoch ms;
   * null for a password set before 2.1.0. Absent: the store does not record it (no maximum age applies).
   */
  passwordChangedAt?: number | null;
}

export interface NewUser {
  username: string;
  password: string;
  roles?: readonly string[];
  attributes?: Readonly<Record<string, string>>;
}

export interface Page {
  /** Only names starting with this prefix. */
  prefix?: string;
  limit: number;
  offset: number;
}

export type StoreKind = 'primary' | 'jdbc' | 'ldap';

/**
 * One user store of one tenant. Every method is already scoped to that tenant: a store can never see
 * another tenant's users. Names of roles passed in and returned are unprefixed.
 */
export interface UserStore {
  /** `PRIMARY` or the secondary store's domain name (upper case). */
  readonly domain: string;
  readonly kind: StoreKind;
  readonly readOnly: boolean;
  /** The user with its roles when the password matches; undefined otherwise (no reason given). */
  authenticate(username: string, password: string): Promise<StoreUser | undefined>;
  getUser(username: string): Promise<StoreUser | undefined>;
  listUsers(page: Page): Promise<StoreUser[]>;
  /** Throws CONFLICT when the name is taken, READ_ONLY_STORE when the store is read-only. */
  addUser(user: NewUser): Promise<StoreUser>;
  /** False when there was no such user. Throws FORBIDDEN for a system user. */
  deleteUser(username: string): Promise<boolean>;
  setPassword(username: string, password: string): Promise<boolean>;
  setUserRoles(username: string, roles: readonly string[]): Promise<boolean>;
  listRoles(page: Page): Promise<string[]>;
  /** Members of a role, undefined when there is no such role. */
  getRole(name: string): Promise<{ name: string; users: string[]; system: boolean } | undefined>;
  addRole(name: string, users?: readonly string[]): Promise<void>;
  deleteRole(name: string): Promise<boolean>;
  close(): Promise<void>;
}

/** What the manager reports about one store of a tenant (the API lists these). */
export interface StoreDescription {
  domain: string;
  type: StoreKind;
  /** The database or directory URL, its password masked; absent for PRIMARY. */
  url?: string;
  readOnly: boolean;
  description?: string;
  status: 'up' | 'error';
  /** Why the store is not up, fit to show an operator (never a password). */
  error?: string;
}
