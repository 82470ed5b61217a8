import {
  AlreadyExistsError,
  Attribute,
  Change,
  type Client,
  type Entry,
  EqualityFilter,
  type Filter,
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  OrFilter,
  ResultCodeError,
} from 'ldapts';
import { TesseraError } from '../../errors.js';
import { accountConflict, checkAccountName } from '../names.js';
import { checkPage } from '../page.js';
import { passwordForms, verifyAgainstDummy } from '../passwords.js';
import { StoreLifecycle } from '../store-lifecycle.js';
import type { NewUser, Page, StoreUser, UserStore } from '../types.js';
import { bindAsService, directoryUnavailable, isConnectionFailure, newClient } from './client.js';
import { childDn, filterFor, firstValue, normalizeDn, valuesOf } from './entries.js';
import { sshaPassword } from './password.js';
import type { LdapSettings } from './settings.js';
import { verifyLdapDirectory } from './verify.js';

export interface LdapUserStoreOptions {
  domain: string;
  url: string;
  settings: LdapSettings;
  readOnly: boolean;
}

/** Object classes whose entries need `cn` and `sn`, which Tessera fills with the name when not mapped. */
const PERSON_CLASSES = new Set(['person', 'organizationalperson', 'inetorgperson']);
/** The member value of a group without members: groupOfNames requires at least one value. */
const NO_MEMBER = '';
const MAX_NAME_LENGTH = 255;

/**
 * A user store over an LDAP directory: users are entries of the user object class under the user search
 * base, roles are groups under the group search base whose member attribute lists user DNs, claims are
 * the attributes the store's mapping names. The directory checks passwords: a user authenticates by
 * binding as their own DN. Everything else runs as the configured bind DN on one shared connection.
 */
export class LdapUserStore implements UserStore {
  readonly domain: string;
  readonly kind = 'ldap' as const;
  readonly readOnly: boolean;
  private readonly url: string;
  private readonly settings: LdapSettings;
  private service: Promise<Client> | undefined;
  private readonly lifecycle: StoreLifecycle;

  constructor(options: LdapUserStoreOptions) {
    this.domain = options.domain;
    this.url = options.url;
    this.settings = options.settings;
    this.readOnly = options.readOnly;
    this.lifecycle = new StoreLifecycle(this.domain, this.readOnly);
  }

  /** A store whose directory was checked to answer, bind and hold both search bases. */
  static async open(options: LdapUserStoreOptions): Promise<LdapUserStore> {
    await verifyLdapDirectory(options.url, options.settings);
    return new LdapUserStore(options);
  }

  async authenticate(username: string, password: string): Promise<StoreUser | undefined> {
    this.lifecycle.assertOpen();
    const user = await this.bindAsUser(username, password);
    // The directory refuses in a millisecond or two: spend argon2's time as well, so that a refusal from
    // this store takes as long as one from a SQL store or for an unknown tenant or store.
    if (user === undefined) await verifyAgainstDummy(password);
    return user;
  }

  /**
   * Binds as the user's DN with each form of the password (`passwordForms`: NFC, which Tessera writes,
   * then the raw form, which an entry set elsewhere may hold). The directory owns the hash, so a match
   * on the raw form is not written again.
   */
  private async bindAsUser(username: string, password: string): Promise<StoreUser | undefined> {
    // An empty password would be an unauthenticated bind, which directories accept for any DN.
    if (typeof password !== 'string' || password.length === 0) return undefined;
    if (typeof username !== 'string' || username.length === 0 || username.length > MAX_NAME_LENGTH)
      return undefined;
    const entry = await this.findUser(username);
    const forms = passwordForms(password);
    if (entry === undefined) {
      // Costs an unknown name the same binds, so that answering faster does not tell it from a known
      // name with a wrong password.
      for (const form of forms) await this.bindAsNobody(form);
      return undefined;
    }
    for (const form of forms) if (await this.binds(entry.dn, form)) return this.toStoreUser(entry);
    return undefined;
  }

  /** Whether the directory accepts the password for the DN; a directory that cannot be reached throws. */
  private async binds(dn: string, password: string): Promise<boolean> {
    const client = newClient(this.endpoint());
    try {
      await client.bind(dn, password);
      return true;
    } catch (error) {
      if (error instanceof InvalidCredentialsError) return false;
      throw this.failure(error);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  async getUser(username: string): Promise<StoreUser | undefined> {
    this.lifecycle.assertOpen();
    const entry = await this.findUser(username);
    return entry === undefined ? undefined : this.toStoreUser(entry);
  }

  async listUsers(page: Page): Promise<StoreUser[]> {
    this.lifecycle.assertOpen();
    checkPage(page);
    if (page.limit === 0) return [];
    const { userSearchBase, userObjectClass, userNameAttribute } = this.settings;
    const entries = await this.search(
      userSearchBase,
      filterFor(userObjectClass, userNameAttribute, { prefix: page.prefix }),
      [userNameAttribute, ...this.mappedAttributes()],
    );
    const named = this.pageOf(entries, userNameAttribute, page);
    const roles = await this.rolesOfMany(named.map((entry) => entry.dn));
    return named.map((entry) => this.userOf(entry, roles.get(normalizeDn(entry.dn)) ?? []));
  }

  async addUser(user: NewUser): Promise<StoreUser> {
    this.lifecycle.assertWritable();
    const username = checkAccountName(user.username, 'user');
    if (typeof user.password !== 'string' || user.password.length === 0)
      throw new TesseraError('BAD_REQUEST', `User ${username} needs a non-empty password.`);
    const roles = [...new Set(user.roles ?? [])].sort();
    const attributes = this.ldapAttributesOf(user.attributes ?? {});
    if (await this.findUser(username)) throw accountConflict('user', this.domain, username);
    const groups = await this.groupsByName(roles);
    const { userSearchBase, userObjectClass, userNameAttribute } = this.settings;
    const entry: Record<string, string | string[]> = {
      objectClass: userObjectClass,
      ...(PERSON_CLASSES.has(userObjectClass.toLowerCase()) ? { cn: username, sn: username } : {}),
      ...attributes,
      [userNameAttribute]: username,
      userPassword: sshaPassword(user.password),
    };
    const dn = childDn(userNameAttribute, username, userSearchBase);
    await this.withService(async (client) => {
      try {
        await client.add(dn, entry);
      } catch (error) {
        if (error instanceof AlreadyExistsError) throw accountConflict('user', this.domain, username);
        throw error;
      }
      for (const group of groups) await this.addMember(client, group, dn);
    });
    return {
      username,
      roles,
      attributes: Object.fromEntries(Object.entries(user.attributes ?? {})),
      system: false,
    };
  }

  async deleteUser(username: string): Promise<boolean> {
    this.lifecycle.assertWritable();
    const entry = await this.findUser(username);
    if (entry === undefined) return false;
    const groups = await this.groupsWithMember(entry.dn);
    await this.withService(async (client) => {
      // Memberships first: a failure then leaves the user in fewer groups, never a group naming no one.
      for (const group of groups) await this.removeMember(client, group, entry.dn);
      await client.del(entry.dn);
    });
    return true;
  }

  async setPassword(username: string, password: string): Promise<boolean> {
    this.lifecycle.assertWritable();
    if (typeof password !== 'string' || password.length === 0)
      throw new TesseraError('BAD_REQUEST', `User ${username} needs a non-empty password.`);
    const entry = await this.findUser(username);
    if (entry === undefined) return false;
    await this.withService((client) =>
      client.modify(entry.dn, replace('userPassword', [sshaPassword(password)])),
    );
    return true;
  }

  async setUserRoles(username: string, roles: readonly string[]): Promise<boolean> {
    this.lifecycle.assertWritable();
    const entry = await this.findUser(username);
    if (entry === undefined) return false;
    const wanted = await this.groupsByName([...new Set(roles)]);
    const current = await this.groupsWithMember(entry.dn);
    const currentDns = new Set(current.map((group) => normalizeDn(group.dn)));
    const wantedDns = new Set(wanted.map((group) => normalizeDn(group.dn)));
    await this.withService(async (client) => {
      for (const group of wanted)
        if (!currentDns.has(normalizeDn(group.dn))) await this.addMember(client, group, entry.dn);
      for (const group of current)
        if (!wantedDns.has(normalizeDn(group.dn))) await this.removeMember(client, group, entry.dn);
    });
    return true;
  }

  async listRoles(page: Page): Promise<string[]> {
    this.lifecycle.assertOpen();
    checkPage(page);
    if (page.limit === 0) return [];
    const { groupSearchBase, groupObjectClass, groupNameAttribute } = this.settings;
    const entries = await this.search(
      groupSearchBase,
      filterFor(groupObjectClass, groupNameAttribute, { prefix: page.prefix }),
      [groupNameAttribute],
    );
    return this.pageOf(entries, groupNameAttribute, page).map(
      (entry) => firstValue(entry, groupNameAttribute) ?? '',
    );
  }

  async getRole(name: string): Promise<{ name: string; users: string[]; system: boolean } | undefined> {
    this.lifecycle.assertOpen();
    const group = await this.findGroup(name);
    if (group === undefined) return undefined;
    const members = valuesOf(group, this.settings.memberAttribute).filter((dn) => dn !== NO_MEMBER);
    const names = await mapLimited(members, LOOKUP_CONCURRENCY, (dn) => this.userNameAt(dn));
    return {
      name: firstValue(group, this.settings.groupNameAttribute) ?? name,
      users: names.filter((n): n is string => n !== undefined).sort(),
      system: false,
    };
  }

  async addRole(name: string, users: readonly string[] = []): Promise<void> {
    this.lifecycle.assertWritable();
    const roleName = checkAccountName(name, 'role');
    if (await this.findGroup(roleName)) throw accountConflict('role', this.domain, roleName);
    const members = await this.userDns([...new Set(users)]);
    const { groupSearchBase, groupObjectClass, groupNameAttribute, memberAttribute } = this.settings;
    await this.withService(async (client) => {
      try {
        await client.add(childDn(groupNameAttribute, roleName, groupSearchBase), {
          objectClass: groupObjectClass,
          [groupNameAttribute]: roleName,
          [memberAttribute]: members.length > 0 ? members : NO_MEMBER,
        });
      } catch (error) {
        if (error instanceof AlreadyExistsError) throw accountConflict('role', this.domain, roleName);
        throw error;
      }
    });
  }

  async deleteRole(name: string): Promise<boolean> {
    this.lifecycle.assertWritable();
    const group = await this.findGroup(name);
    if (group === undefined) return false;
    await this.withService((client) => client.del(group.dn));
    return true;
  }

  async close(): Promise<void> {
    await this.lifecycle.close(async () => {
      const service = this.service;
      this.service = undefined;
      const client = await service?.catch(() => undefined);
      await client?.unbind().catch(() => {});
    });
  }

  /** A bind as a DN no entry has, whose refusal is ignored; a directory that cannot be reached still throws. */
  private async bindAsNobody(password: string): Promise<void> {
    const { userNameAttribute, userSearchBase } = this.settings;
    const client = newClient(this.endpoint());
    try {
      await client.bind(childDn(userNameAttribute, NOBODY, userSearchBase), password);
    } catch (error) {
      if (isConnectionFailure(error)) throw this.failure(error);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  private endpoint() {
    return { url: this.url, settings: this.settings };
  }

  /**
   * Runs `work` on the connection bound as the bind DN, binding it first when needed. A directory that
   * cannot be reached becomes STORE_UNAVAILABLE (and the connection is bound afresh next time); a request
   * the directory refuses becomes a TesseraError saying why.
   */
  private async withService<T>(work: (client: Client) => Promise<T>): Promise<T> {
    this.lifecycle.assertOpen();
    if (this.service === undefined) {
      const binding = bindAsService(this.endpoint());
      this.service = binding;
      binding.catch(() => {
        if (this.service === binding) this.service = undefined;
      });
    }
    const service = this.service;
    let client: Client;
    try {
      client = await service;
    } catch (error) {
      throw this.failure(error);
    }
    try {
      return await work(client);
    } catch (error) {
      if (isConnectionFailure(error) && this.service === service) {
        this.service = undefined;
        await client.unbind().catch(() => {});
      }
      throw this.failure(error);
    }
  }

  private failure(error: unknown): Error {
    if (error instanceof TesseraError) return error;
    if (error instanceof InsufficientAccessError) {
      return new TesseraError(
        'FORBIDDEN',
        `The LDAP server does not let the bind DN of store ${this.domain} do this: ${error.message}`,
      );
    }
    if (error instanceof ResultCodeError) {
      return new TesseraError(
        'BAD_REQUEST',
        `The LDAP server of store ${this.domain} refused: ${error.message}`,
      );
    }
    if (isConnectionFailure(error)) return directoryUnavailable(this.url, error);
    return error instanceof Error ? error : new Error(String(error));
  }

  private search(
    base: string,
    filter: Filter,
    attributes: string[],
    scope: 'sub' | 'base' = 'sub',
  ): Promise<Entry[]> {
    return this.withService(async (client) => {
      try {
        // Paged, so that a directory's size limit per request does not cut a listing short.
        const result = await client.search(base, { scope, filter, attributes, paged: scope === 'sub' });
        return result.searchEntries;
      } catch (error) {
        if (error instanceof NoSuchObjectError) return [];
        throw error;
      }
    });
  }

  /** Entries sorted by their name, those starting with the page's prefix (case-sensitively), sliced. */
  private pageOf(entries: Entry[], nameAttribute: string, page: Page): Entry[] {
    const prefix = page.prefix ?? '';
    return entries
      .map((entry) => ({ entry, name: firstValue(entry, nameAttribute) }))
      .filter((e): e is { entry: Entry; name: string } => e.name?.startsWith(prefix) ?? false)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(page.offset, page.offset + page.limit)
      .map((e) => e.entry);
  }

  private mappedAttributes(): string[] {
    return [...new Set(Object.values(this.settings.attributes))];
  }

  private async findUser(username: string): Promise<Entry | undefined> {
    if (typeof username !== 'string' || username.length === 0) return undefined;
    const { userSearchBase, userObjectClass, userNameAttribute } = this.settings;
    const entries = await this.search(
      userSearchBase,
      filterFor(userObjectClass, userNameAttribute, { value: username }),
      [userNameAttribute, ...this.mappedAttributes()],
    );
    // Two entries with one name make the name ambiguous: nobody may log in as it.
    return entries.length === 1 ? entries[0] : undefined;
  }

  private async findGroup(name: string): Promise<Entry | undefined> {
    if (typeof name !== 'string' || name.length === 0) return undefined;
    const { groupSearchBase, groupObjectClass, groupNameAttribute, memberAttribute } = this.settings;
    const entries = await this.search(
      groupSearchBase,
      filterFor(groupObjectClass, groupNameAttribute, { value: name }),
      [groupNameAttribute, memberAttribute],
    );
    return entries.length === 1 ? entries[0] : undefined;
  }

  /** Groups by name; BAD_REQUEST naming every role the store does not have. */
  private async groupsByName(names: readonly string[]): Promise<Entry[]> {
    const found = await mapLimited(names, LOOKUP_CONCURRENCY, (name) => this.findGroup(name));
    const missing = names.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) {
      throw new TesseraError(
        'BAD_REQUEST',
        `Unknown role${missing.length > 1 ? 's' : ''} in store ${this.domain}: ${missing.join(', ')}.`,
      );
    }
    return found as Entry[];
  }

  /** DNs of users by name; BAD_REQUEST naming every user the store does not have. */
  private async userDns(names: readonly string[]): Promise<string[]> {
    const found = await mapLimited(names, LOOKUP_CONCURRENCY, (name) => this.findUser(name));
    const missing = names.filter((_, i) => found[i] === undefined);
    if (missing.length > 0) {
      throw new TesseraError(
        'BAD_REQUEST',
        `Unknown user${missing.length > 1 ? 's' : ''} in store ${this.domain}: ${missing.join(', ')}.`,
      );
    }
    return found.map((entry) => (entry as Entry).dn);
  }

  private groupsWithMember(dn: string): Promise<Entry[]> {
    const { groupSearchBase, groupObjectClass, groupNameAttribute, memberAttribute } = this.settings;
    return this.search(groupSearchBase, memberFilter(groupObjectClass, memberAttribute, [dn]), [
      groupNameAttribute,
      memberAttribute,
    ]);
  }

  /** The role names of each of the given user DNs (by normalized DN), from one search. */
  private async rolesOfMany(dns: readonly string[]): Promise<Map<string, string[]>> {
    const roles = new Map<string, string[]>(dns.map((dn) => [normalizeDn(dn), []]));
    if (dns.length === 0) return roles;
    const { groupSearchBase, groupObjectClass, groupNameAttribute, memberAttribute } = this.settings;
    const groups = await this.search(groupSearchBase, memberFilter(groupObjectClass, memberAttribute, dns), [
      groupNameAttribute,
      memberAttribute,
    ]);
    for (const group of groups) {
      const name = firstValue(group, groupNameAttribute);
      if (name === undefined) continue;
      for (const member of valuesOf(group, memberAttribute)) roles.get(normalizeDn(member))?.push(name);
    }
    for (const list of roles.values()) list.sort();
    return roles;
  }

  /** The name of the user entry at `dn`; undefined when there is none (a dangling member) or it is not a user. */
  private async userNameAt(dn: string): Promise<string | undefined> {
    const { userObjectClass, userNameAttribute } = this.settings;
    const entries = await this.search(
      dn,
      new EqualityFilter({ attribute: 'objectClass', value: userObjectClass }),
      [userNameAttribute],
      'base',
    ).catch((error: unknown) => {
      // A member value that is not a valid DN names nobody.
      if (error instanceof TesseraError && error.code === 'BAD_REQUEST') return [];
      throw error;
    });
    return entries[0] === undefined ? undefined : firstValue(entries[0], userNameAttribute);
  }

  private async toStoreUser(entry: Entry): Promise<StoreUser> {
    const roles = await this.rolesOfMany([entry.dn]);
    return this.userOf(entry, roles.get(normalizeDn(entry.dn)) ?? []);
  }

  private userOf(entry: Entry, roles: string[]): StoreUser {
    const attributes: [string, string][] = [];
    for (const [claim, attribute] of Object.entries(this.settings.attributes)) {
      const value = firstValue(entry, attribute);
      if (value !== undefined) attributes.push([claim, value]);
    }
    return {
      username: firstValue(entry, this.settings.userNameAttribute) ?? '',
      roles,
      // fromEntries defines own properties, so a claim named `__proto__` stays a claim.
      attributes: Object.fromEntries(attributes),
      system: false,
    };
  }

  /** A new user's claims as LDAP attributes; BAD_REQUEST for a claim the store's mapping does not name. */
  private ldapAttributesOf(claims: Readonly<Record<string, string>>): Record<string, string> {
    const attributes: Record<string, string> = {};
    for (const [claim, value] of Object.entries(claims)) {
      const attribute = Object.hasOwn(this.settings.attributes, claim)
        ? this.settings.attributes[claim]
        : undefined;
      if (attribute === undefined) {
        throw new TesseraError(
          'BAD_REQUEST',
          `Store ${this.domain} has no LDAP attribute for the claim ${claim}; its [attributes] table maps: ${Object.keys(this.settings.attributes).join(', ') || 'none'}.`,
        );
      }
      if (typeof value !== 'string' || value.length === 0)
        throw new TesseraError('BAD_REQUEST', `Attribute ${claim} must be a non-empty string.`);
      attributes[attribute] = value;
    }
    return attributes;
  }

  private async addMember(client: Client, group: Entry, dn: string): Promise<void> {
    const { memberAttribute } = this.settings;
    const members = valuesOf(group, memberAttribute);
    if (members.some((m) => m !== NO_MEMBER && normalizeDn(m) === normalizeDn(dn))) return;
    const placeholderOnly = members.length > 0 && members.every((m) => m === NO_MEMBER);
    await client.modify(
      group.dn,
      placeholderOnly
        ? replace(memberAttribute, [dn])
        : new Change({
            operation: 'add',
            modification: new Attribute({ type: memberAttribute, values: [dn] }),
          }),
    );
  }

  private async removeMember(client: Client, group: Entry, dn: string): Promise<void> {
    const { memberAttribute } = this.settings;
    const members = valuesOf(group, memberAttribute);
    const remaining = members.filter((m) => m !== NO_MEMBER && normalizeDn(m) !== normalizeDn(dn));
    const removed = members.filter((m) => m !== NO_MEMBER && normalizeDn(m) === normalizeDn(dn));
    if (removed.length === 0) return;
    await client.modify(
      group.dn,
      remaining.length === 0
        ? replace(memberAttribute, [NO_MEMBER])
        : new Change({
            operation: 'delete',
            modification: new Attribute({ type: memberAttribute, values: removed }),
          }),
    );
  }
}

/** How many searches one request runs against the directory at a time (a group's members, a user's roles). */
const LOOKUP_CONCURRENCY = 8;

/** The bind name `authenticate` uses for unknown users; not a valid account name, so no user can have it. */
const NOBODY = 'tessera no such user';

/** `items.map(work)` with at most `limit` calls in flight, results in the order of `items`. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function memberFilter(objectClass: string, memberAttribute: string, dns: readonly string[]): OrFilter {
  // An OR of one term is still a valid filter; each AND keeps other object classes out.
  return new OrFilter({ filters: dns.map((dn) => filterFor(objectClass, memberAttribute, { value: dn })) });
}

function replace(attribute: string, values: string[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values }) });
}
