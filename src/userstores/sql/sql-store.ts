import type { Kysely, Selectable } from 'kysely';
import type { Schema } from '../../db/schema.js';
import { TesseraError } from '../../errors.js';
import { accountConflict, checkAccountName, PRIMARY_DOMAIN } from '../names.js';
import { checkPage, startsWith } from '../page.js';
import { hashPassword, type StoredPassword, verifyAgainstDummy, verifyPassword } from '../passwords.js';
import { StoreLifecycle } from '../store-lifecycle.js';
import type { NewUser, Page, StoreUser, UserStore } from '../types.js';
import type { StoreSchema } from './sql-schema.js';

export interface SqlUserStoreOptions {
  db: Kysely<StoreSchema>;
  tenantId: number;
  /** `PRIMARY` or the secondary store's domain. */
  domain: string;
  kind: 'primary' | 'jdbc';
  readOnly: boolean;
  /** Runs once when the store is closed, e.g. to release a shared connection. */
  onClose?: () => Promise<void>;
  /** While true, a login writes nothing (the legacy re-hash waits for a later login): maintenance mode. */
  loginWritesSkipped?: (() => boolean) | undefined;
  /**
   * Writes `password_changed_at` when a password is set and reports it at login: the PRIMARY store only,
   * whose table has the column since 2.1.0 (a JDBC store's own database never had it).
   */
  recordsPasswordAge?: boolean;
}

type UserRow = Selectable<StoreSchema['users']>;

interface UserDetails {
  roles: string[];
  attributes: Record<string, string>;
}

/** The width of the name columns. */
const MAX_NAME_LENGTH = 255;

/**
 * A user store over the users/roles/user_roles/user_attributes tables: the server database's own for
 * PRIMARY, a separate database for a JDBC store. Every statement is filtered by the tenant, and rows are
 * only ever reached through a name looked up within the tenant, so an id of another tenant's user or role
 * can never be read, linked or changed from here.
 */
export class SqlUserStore implements UserStore {
  readonly domain: string;
  readonly kind: 'primary' | 'jdbc';
  readonly readOnly: boolean;
  private readonly db: Kysely<StoreSchema>;
  private readonly tenantId: number;
  private readonly onClose: (() => Promise<void>) | undefined;
  private readonly lifecycle: StoreLifecycle;
  private readonly loginWritesSkipped: () => boolean;
  private readonly recordsPasswordAge: boolean;

  constructor(options: SqlUserStoreOptions) {
    this.db = options.db;
    this.tenantId = options.tenantId;
    this.domain = options.domain;
    this.kind = options.kind;
    this.readOnly = options.readOnly;
    this.lifecycle = new StoreLifecycle(this.domain, this.readOnly);
    this.onClose = options.onClose;
    this.loginWritesSkipped = options.loginWritesSkipped ?? (() => false);
    this.recordsPasswordAge = options.recordsPasswordAge ?? false;
  }

  async authenticate(username: string, password: string): Promise<StoreUser | undefined> {
    this.lifecycle.assertOpen();
    // No name rule here: a name stored by an older release still logs in, whatever it looks like.
    const plausible =
      typeof username === 'string' && username.length > 0 && username.length <= MAX_NAME_LENGTH;
    const row = plausible ? await this.findUser(this.db, username) : undefined;
    const stored = row === undefined ? undefined : storedPasswordOf(row);
    if (row === undefined || stored === undefined) return this.reject(password);
    const verification = await verifyPassword(password, stored);
    if (!verification.ok) {
      // A legacy hash fails in microseconds; spend argon2's time anyway so that timing tells nothing.
      return stored.algorithm === 'argon2id' ? undefined : this.reject(password);
    }
    // A re-hash stores the same password anew: it is no change, and `password_changed_at` stays.
    if (verification.needsRehash) await this.rehash(row, password);
    const user = await this.toStoreUser(row);
    return this.recordsPasswordAge ? { ...user, passwordChangedAt: row.password_changed_at } : user;
  }

  async getUser(username: string): Promise<StoreUser | undefined> {
    this.lifecycle.assertOpen();
    const row = await this.findUser(this.db, username);
    return row === undefined ? undefined : this.toStoreUser(row);
  }

  async listUsers(page: Page): Promise<StoreUser[]> {
    this.lifecycle.assertOpen();
    checkPage(page);
    if (page.limit === 0) return [];
    const rows = await this.db
      .selectFrom('users')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .$if(Boolean(page.prefix), (q) => q.where(startsWith('username', page.prefix ?? '')))
      .orderBy('username')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    const details = await this.detailsOf(rows.map((r) => r.id));
    return rows.map((row) => userOf(row, details.get(row.id)));
  }

  async addUser(user: NewUser): Promise<StoreUser> {
    this.lifecycle.assertWritable();
    const username = checkAccountName(user.username, 'user');
    if (typeof user.password !== 'string' || user.password.length === 0) {
      throw new TesseraError('BAD_REQUEST', `User ${username} needs a non-empty password.`);
    }
    const roles = [...new Set(user.roles ?? [])].sort();
    const attributes = Object.entries(user.attributes ?? {});
    for (const [name, value] of attributes) checkAttribute(name, value);
    // Refuse cheaply before spending argon2's time; the transaction below checks again authoritatively.
    if (await this.findUser(this.db, username)) throw accountConflict('user', this.domain, username);
    await this.roleIds(this.db, roles);
    const password = await hashPassword(user.password);

    await this.failAsConflictIfTaken('user', username, () =>
      this.db.transaction().execute(async (trx) => {
        const roleIds = await this.roleIds(trx, roles);
        await trx
          .insertInto('users')
          .values({
            tenant_id: this.tenantId,
            username,
            password_hash: password.hash,
            password_salt: password.salt,
            password_algorithm: password.algorithm,
            is_system: 0,
            created_at: Date.now(),
            ...this.passwordChangedNow(),
          })
          .execute();
        // No RETURNING on MariaDB: read the new id back by the unique key.
        const created = await this.findUser(trx, username);
        if (created === undefined)
          throw new TesseraError('INTERNAL', `User ${username} vanished while being added.`);
        if (roleIds.length > 0) {
          await trx
            .insertInto('user_roles')
            .values(roleIds.map((roleId) => ({ user_id: created.id, role_id: roleId })))
            .execute();
        }
        if (attributes.length > 0) {
          await trx
            .insertInto('user_attributes')
            .values(attributes.map(([name, value]) => ({ user_id: created.id, name, value })))
            .execute();
        }
      }),
    );
    return { username, roles, attributes: Object.fromEntries(attributes), system: false };
  }

  async deleteUser(username: string): Promise<boolean> {
    this.lifecycle.assertWritable();
    const row = await this.findUser(this.db, username);
    if (row === undefined) return false;
    if (row.is_system)
      throw new TesseraError('FORBIDDEN', `User ${username} is a system user and cannot be deleted.`);
    await this.db.transaction().execute(async (trx) => {
      // Explicit rather than ON DELETE CASCADE, which a JDBC store's database may not enforce.
      await trx.deleteFrom('user_roles').where('user_id', '=', row.id).execute();
      await trx.deleteFrom('user_attributes').where('user_id', '=', row.id).execute();
      await trx.deleteFrom('users').where('id', '=', row.id).where('tenant_id', '=', this.tenantId).execute();
    });
    return true;
  }

  async setPassword(username: string, password: string): Promise<boolean> {
    this.lifecycle.assertWritable();
    if (typeof password !== 'string' || password.length === 0) {
      throw new TesseraError('BAD_REQUEST', `User ${username} needs a non-empty password.`);
    }
    const row = await this.findUser(this.db, username);
    if (row === undefined) return false;
    await this.storePassword(row.id, await hashPassword(password));
    return true;
  }

  async setUserRoles(username: string, roles: readonly string[]): Promise<boolean> {
    this.lifecycle.assertWritable();
    const wanted = [...new Set(roles)];
    return this.db.transaction().execute(async (trx) => {
      const row = await this.findUser(trx, username);
      if (row === undefined) return false;
      const roleIds = await this.roleIds(trx, wanted);
      await trx.deleteFrom('user_roles').where('user_id', '=', row.id).execute();
      if (roleIds.length > 0) {
        await trx
          .insertInto('user_roles')
          .values(roleIds.map((roleId) => ({ user_id: row.id, role_id: roleId })))
          .execute();
      }
      return true;
    });
  }

  async listRoles(page: Page): Promise<string[]> {
    this.lifecycle.assertOpen();
    checkPage(page);
    if (page.limit === 0) return [];
    const rows = await this.db
      .selectFrom('roles')
      .select('name')
      .where('tenant_id', '=', this.tenantId)
      .$if(Boolean(page.prefix), (q) => q.where(startsWith('name', page.prefix ?? '')))
      .orderBy('name')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return rows.map((r) => r.name);
  }

  async getRole(name: string): Promise<{ name: string; users: string[]; system: boolean } | undefined> {
    this.lifecycle.assertOpen();
    const role = await this.findRole(this.db, name);
    if (role === undefined) return undefined;
    const members = await this.db
      .selectFrom('user_roles')
      .innerJoin('users', 'users.id', 'user_roles.user_id')
      .select('users.username')
      .where('user_roles.role_id', '=', role.id)
      .where('users.tenant_id', '=', this.tenantId)
      .orderBy('users.username')
      .execute();
    return { name: role.name, users: members.map((m) => m.username), system: Boolean(role.is_system) };
  }

  async addRole(name: string, users: readonly string[] = []): Promise<void> {
    this.lifecycle.assertWritable();
    const roleName = checkAccountName(name, 'role');
    const members = [...new Set(users)];
    await this.failAsConflictIfTaken('role', roleName, () =>
      this.db.transaction().execute(async (trx) => {
        if (await this.findRole(trx, roleName)) throw accountConflict('role', this.domain, roleName);
        const userIds = await this.userIds(trx, members);
        await trx
          .insertInto('roles')
          .values({ tenant_id: this.tenantId, name: roleName, is_system: 0, created_at: Date.now() })
          .execute();
        const created = await this.findRole(trx, roleName);
        if (created === undefined)
          throw new TesseraError('INTERNAL', `Role ${roleName} vanished while being added.`);
        if (userIds.length > 0) {
          await trx
            .insertInto('user_roles')
            .values(userIds.map((userId) => ({ user_id: userId, role_id: created.id })))
            .execute();
        }
      }),
    );
  }

  async deleteRole(name: string): Promise<boolean> {
    this.lifecycle.assertWritable();
    const role = await this.findRole(this.db, name);
    if (role === undefined) return false;
    if (role.is_system)
      throw new TesseraError('FORBIDDEN', `Role ${name} is a system role and cannot be deleted.`);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('user_roles').where('role_id', '=', role.id).execute();
      await trx
        .deleteFrom('roles')
        .where('id', '=', role.id)
        .where('tenant_id', '=', this.tenantId)
        .execute();
    });
    return true;
  }

  async close(): Promise<void> {
    await this.lifecycle.close(async () => {
      await this.onClose?.();
    });
  }

  private async reject(password: string): Promise<undefined> {
    await verifyAgainstDummy(password);
    return undefined;
  }

  /**
   * Stores a password that matched a legacy hash (or an argon2id hash of a form that was not NFC) again as
   * argon2id of its NFC form. Only if the row still holds the hash just verified, so a password changed
   * meanwhile is never overwritten; a read-only store is never written. A failure leaves the old hash for
   * the next login and never fails this one.
   */
  private async rehash(row: UserRow, password: string): Promise<void> {
    if (this.readOnly || this.loginWritesSkipped()) return;
    try {
      const fresh = await hashPassword(password);
      await this.db
        .updateTable('users')
        .set({ password_hash: fresh.hash, password_salt: fresh.salt, password_algorithm: fresh.algorithm })
        .where('id', '=', row.id)
        .where('tenant_id', '=', this.tenantId)
        .where('password_hash', '=', row.password_hash)
        .execute();
    } catch {
      // Deliberately ignored: see above.
    }
  }

  private async storePassword(userId: number, password: StoredPassword): Promise<void> {
    await this.db
      .updateTable('users')
      .set({
        password_hash: password.hash,
        password_salt: password.salt,
        password_algorithm: password.algorithm,
        ...this.passwordChangedNow(),
      })
      .where('id', '=', userId)
      .where('tenant_id', '=', this.tenantId)
      .execute();
  }

  /** The column to write with a new password, in the stores that have it. */
  private passwordChangedNow(): { password_changed_at?: number } {
    return this.recordsPasswordAge ? { password_changed_at: Date.now() } : {};
  }

  private findUser(db: Kysely<StoreSchema>, username: string): Promise<UserRow | undefined> {
    return db
      .selectFrom('users')
      .selectAll()
      .where('tenant_id', '=', this.tenantId)
      .where('username', '=', username)
      .executeTakeFirst();
  }

  private findRole(db: Kysely<StoreSchema>, name: string) {
    return db
      .selectFrom('roles')
      .select(['id', 'name', 'is_system'])
      .where('tenant_id', '=', this.tenantId)
      .where('name', '=', name)
      .executeTakeFirst();
  }

  /** Ids of this tenant's roles by name; BAD_REQUEST naming every role the tenant does not have. */
  private async roleIds(db: Kysely<StoreSchema>, names: readonly string[]): Promise<number[]> {
    if (names.length === 0) return [];
    const rows = await db
      .selectFrom('roles')
      .select(['id', 'name'])
      .where('tenant_id', '=', this.tenantId)
      .where('name', 'in', names)
      .execute();
    const missing = names.filter((n) => !rows.some((r) => r.name === n));
    if (missing.length > 0) {
      throw new TesseraError(
        'BAD_REQUEST',
        `Unknown role${missing.length > 1 ? 's' : ''} in store ${this.domain}: ${missing.join(', ')}.`,
      );
    }
    return rows.map((r) => r.id);
  }

  /** Ids of this tenant's users by name; BAD_REQUEST naming every user the tenant does not have. */
  private async userIds(db: Kysely<StoreSchema>, names: readonly string[]): Promise<number[]> {
    if (names.length === 0) return [];
    const rows = await db
      .selectFrom('users')
      .select(['id', 'username'])
      .where('tenant_id', '=', this.tenantId)
      .where('username', 'in', names)
      .execute();
    const missing = names.filter((n) => !rows.some((r) => r.username === n));
    if (missing.length > 0) {
      throw new TesseraError(
        'BAD_REQUEST',
        `Unknown user${missing.length > 1 ? 's' : ''} in store ${this.domain}: ${missing.join(', ')}.`,
      );
    }
    return rows.map((r) => r.id);
  }

  private async toStoreUser(row: UserRow): Promise<StoreUser> {
    const details = await this.detailsOf([row.id]);
    return userOf(row, details.get(row.id));
  }

  /** Roles and attributes of a page of users: one query per table, whatever the page size. */
  private async detailsOf(userIds: readonly number[]): Promise<Map<number, UserDetails>> {
    const details = new Map<number, UserDetails>(userIds.map((id) => [id, { roles: [], attributes: {} }]));
    if (userIds.length === 0) return details;
    const roles = await this.db
      .selectFrom('user_roles')
      .innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select(['user_roles.user_id as userId', 'roles.name as name'])
      .where('roles.tenant_id', '=', this.tenantId)
      .where('user_roles.user_id', 'in', userIds)
      .execute();
    const attributes = await this.db
      .selectFrom('user_attributes')
      .innerJoin('users', 'users.id', 'user_attributes.user_id')
      .select([
        'user_attributes.user_id as userId',
        'user_attributes.name as name',
        'user_attributes.value as value',
      ])
      .where('users.tenant_id', '=', this.tenantId)
      .where('user_attributes.user_id', 'in', userIds)
      .execute();
    for (const role of roles) details.get(role.userId)?.roles.push(role.name);
    const entries = new Map<number, [string, string][]>();
    for (const a of attributes) {
      const list = entries.get(a.userId) ?? [];
      list.push([a.name, a.value]);
      entries.set(a.userId, list);
    }
    for (const [userId, detail] of details) {
      detail.roles.sort();
      // fromEntries defines own properties, so an attribute named `__proto__` stays an attribute.
      detail.attributes = Object.fromEntries(entries.get(userId) ?? []);
    }
    return details;
  }

  /**
   * Runs an insert and, when it fails because another request took the name first (the unique index
   * refused it), reports CONFLICT. Telling that by looking again is the same on every engine, where the
   * drivers' error codes are not.
   */
  private async failAsConflictIfTaken(
    what: 'user' | 'role',
    name: string,
    work: () => Promise<void>,
  ): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof TesseraError) throw error;
      const taken = what === 'user' ? await this.findUser(this.db, name) : await this.findRole(this.db, name);
      if (taken !== undefined) throw accountConflict(what, this.domain, name);
      throw error;
    }
  }
}

/** The PRIMARY store of a tenant: the server database's own tables, always read-write. */
export function primaryStore(
  db: Kysely<Schema>,
  tenantId: number,
  loginWritesSkipped?: () => boolean,
): SqlUserStore {
  // The server schema's user tables have exactly the store schema's shape; Kysely's types are invariant.
  const storeDb = db as unknown as Kysely<StoreSchema>;
  return new SqlUserStore({
    db: storeDb,
    tenantId,
    domain: PRIMARY_DOMAIN,
    kind: 'primary',
    readOnly: false,
    loginWritesSkipped,
    recordsPasswordAge: true,
  });
}

function userOf(row: UserRow, details: UserDetails | undefined): StoreUser {
  return {
    username: row.username,
    roles: details?.roles ?? [],
    attributes: details?.attributes ?? {},
    system: Boolean(row.is_system),
  };
}

/** The row's password in a form `verifyPassword` knows; undefined for an algorithm this release cannot check. */
function storedPasswordOf(row: UserRow): StoredPassword | undefined {
  const algorithm = row.password_algorithm;
  if (algorithm !== 'argon2id' && algorithm !== 'sha256') return undefined;
  return { hash: row.password_hash, salt: row.password_salt, algorithm };
}

function checkAttribute(name: string, value: unknown): void {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new TesseraError('BAD_REQUEST', `Attribute names must have 1 to ${MAX_NAME_LENGTH} characters.`);
  }
  if (typeof value !== 'string') throw new TesseraError('BAD_REQUEST', `Attribute ${name} must be a string.`);
}
