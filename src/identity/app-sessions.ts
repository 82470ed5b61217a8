import { createHash, randomBytes } from 'node:crypto';
import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type Selectable,
  type SqlBool,
  sql,
} from 'kysely';
import type { AppSessionsTable, Schema } from '../db/schema.js';
import { displayName } from '../userstores/names.js';
import { RecentSessions } from './app-session-cache.js';
import type { Principal } from './authenticator.js';

type SessionRow = Selectable<AppSessionsTable>;

/** How long an unused app session lives, unless `TESSERA_APP_SESSION_IDLE_SECONDS` says otherwise. */
export const DEFAULT_APP_IDLE_SECONDS = 30 * 60;
/** However busy, an app session ends this long after the sign-in, unless `TESSERA_APP_SESSION_MAX_SECONDS` says otherwise. */
export const DEFAULT_APP_MAX_SECONDS = 12 * 60 * 60;
/** Sessions one user may hold at once (browsers, devices); signing in once more ends their oldest. */
export const MAX_APP_SESSIONS_PER_USER = 20;
/**
 * How often a session's user is looked up again in their store: a user deleted or disabled behind the API's
 * back (an LDAP directory, a JDBC database edited by hand) loses access within this. Changes made through the
 * API end or refresh the sessions at once.
 */
export const APP_RECHECK_SECONDS = 60;
/**
 * How long a node reuses a session it read from the database. A session ended on another node (sign-out, the
 * admin API, a deleted user) is refused everywhere within this; on the node that ended it, at once.
 */
export const APP_SESSION_CACHE_MS = 5_000;

/** What `create` hands out: 32 random bytes in base64url. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface AppSessionOptions {
  idleSeconds?: number;
  maxSeconds?: number;
  maxPerUser?: number;
  recheckSeconds?: number;
  cacheMs?: number;
}

/** The user of a live app session, as the app is told. */
export interface AppSessionUser {
  id: string;
  tenantId: number;
  store: string;
  /** The name inside the store (no prefix). */
  username: string;
  roles: string[];
}

/** A session as the admin API lists it: never its token, nor the token's hash. */
export interface AppSessionView {
  id: string;
  /** `name` or `STORE/name`, as typed inside the tenant. */
  user: string;
  store: string;
  createdAt: string;
  lastUsedAt: string;
  /** The earlier of the idle and the absolute expiry, as things stand. */
  expiresAt: string;
  address: string;
  userAgent: string;
}

/** Where the sign-in came from, kept for the admins' list. */
export interface SignInClient {
  address: string;
  userAgent: string;
}

/** Looks a session's user up again: their roles as the app names them, `undefined` if gone, `unknown` if the store cannot say. */
export type UserRecheck = (
  tenantId: number,
  store: string,
  username: string,
) => Promise<string[] | undefined | 'unknown'>;

/**
 * App sessions (README, Signing in to apps): one sign-in for every app of a tenant, kept in the database so
 * that every node of a cluster knows it. The cookie's token is random (256 bits) and only its SHA-256 is
 * stored, so a copy of the table hands out no session. A node reads a session at most once every
 * `APP_SESSION_CACHE_MS` and writes its last use at most once a minute (or a tenth of the idle timeout), so a
 * request to an app costs a database read only now and then.
 */
export class AppSessions {
  private readonly idleMs: number;
  private readonly maxMs: number;
  private readonly maxPerUser: number;
  private readonly recheckMs: number;
  private readonly touchMs: number;
  private readonly recent: RecentSessions<SessionRow>;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly recheck: UserRecheck,
    options: AppSessionOptions = {},
    private readonly now: () => number = () => Date.now(),
  ) {
    this.idleMs = (options.idleSeconds ?? DEFAULT_APP_IDLE_SECONDS) * 1000;
    this.maxMs = (options.maxSeconds ?? DEFAULT_APP_MAX_SECONDS) * 1000;
    this.maxPerUser = options.maxPerUser ?? MAX_APP_SESSIONS_PER_USER;
    this.recheckMs = (options.recheckSeconds ?? APP_RECHECK_SECONDS) * 1000;
    this.touchMs = Math.min(60_000, this.idleMs / 10);
    this.recent = new RecentSessions(options.cacheMs ?? APP_SESSION_CACHE_MS, now);
  }

  /** The idle timeout, in seconds (the sign-in page says it). */
  get idleSeconds(): number {
    return this.idleMs / 1000;
  }

  /**
   * A new session for a user who just signed in, always with a new token (no session fixation: whatever
   * cookie the browser had is not reused). Ends the user's oldest sessions past the per-user limit.
   */
  async create(principal: Principal, client: SignInClient): Promise<{ token: string; id: string }> {
    const at = this.now();
    await this.db.deleteFrom('app_sessions').where('expires_at', '<=', at).execute();
    const own = await this.db
      .selectFrom('app_sessions')
      .where(ownedBy(principal.tenantId, principal.store, principal.username))
      .select(['id'])
      .orderBy('created_at', 'asc')
      .execute();
    const surplus = own.slice(0, Math.max(0, own.length - this.maxPerUser + 1)).map((row) => row.id);
    if (surplus.length > 0) await this.db.deleteFrom('app_sessions').where('id', 'in', surplus).execute();
    const token = randomBytes(32).toString('base64url');
    const id = randomBytes(16).toString('hex');
    await this.db
      .insertInto('app_sessions')
      .values({
        id,
        token_hash: digest(token),
        tenant_id: principal.tenantId,
        store: principal.store.toUpperCase(),
        username: principal.username,
        roles: JSON.stringify(principal.roles),
        created_at: at,
        last_used_at: at,
        checked_at: at,
        expires_at: at + this.maxMs,
        address: client.address.slice(0, 64),
        user_agent: client.userAgent.slice(0, 512),
      })
      .execute();
    return { token, id };
  }

  /**
   * The user of a live session of `tenantId`, or `undefined`: an unknown or tampered token, an expired
   * session, another tenant's session, a user no longer in their store. Never throws for a bad token.
   */
  async resolve(token: string, tenantId: number): Promise<AppSessionUser | undefined> {
    // Not a token this class made: no database read for it (junk cookies cost nothing).
    if (!TOKEN_PATTERN.test(token)) return undefined;
    const hash = digest(token);
    const row = this.recent.get(hash) ?? (await this.read(hash));
    if (!row || row.tenant_id !== tenantId) return undefined;
    const at = this.now();
    if (this.expired(row, at)) {
      await this.endWhere(hash);
      return undefined;
    }
    if (at - row.checked_at >= this.recheckMs) {
      const roles = await this.recheck(row.tenant_id, row.store, row.username);
      if (roles === undefined) {
        await this.endWhere(hash);
        return undefined;
      }
      if (roles !== 'unknown') {
        row.roles = JSON.stringify(roles);
        row.checked_at = at;
        row.last_used_at = at;
        await this.db
          .updateTable('app_sessions')
          .set({ roles: row.roles, checked_at: at, last_used_at: at })
          .where('id', '=', row.id)
          .execute();
      }
    }
    if (at - row.last_used_at >= this.touchMs) {
      row.last_used_at = at;
      await this.db.updateTable('app_sessions').set({ last_used_at: at }).where('id', '=', row.id).execute();
    }
    return {
      id: row.id,
      tenantId: row.tenant_id,
      store: row.store,
      username: row.username,
      roles: parseRoles(row.roles),
    };
  }

  /** Ends the session of `token` (sign-out); replaying the token afterwards finds nothing. */
  async end(token: string): Promise<void> {
    await this.endWhere(digest(token));
  }

  /** Ends one session of a tenant by its id (the admin API); false if there was none. */
  async endById(tenantId: number, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('app_sessions')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    this.recent.forget((row) => row.id === id);
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Ends every session of one user (deleted, password changed, the admin API). Names are compared without
   * case, as the console's sessions are: ending one session too many only costs a sign-in.
   */
  async endUser(tenantId: number, store: string, username: string): Promise<number> {
    const result = await this.db
      .deleteFrom('app_sessions')
      .where(ownedBy(tenantId, store, username))
      .executeTakeFirst();
    this.recent.forget((row) => sameOwner(row, tenantId, store, username));
    return Number(result.numDeletedRows);
  }

  /** The user's roles changed: their sessions take the new ones at their next request. */
  async refreshUser(tenantId: number, store: string, username: string): Promise<void> {
    await this.db
      .updateTable('app_sessions')
      .set({ checked_at: 0 })
      .where(ownedBy(tenantId, store, username))
      .execute();
    this.recent.forget((row) => sameOwner(row, tenantId, store, username));
  }

  /** A tenant's live sessions, newest first; of one user only with `user`. */
  async list(tenantId: number, user?: { store: string; username: string }): Promise<AppSessionView[]> {
    const at = this.now();
    let query = this.db
      .selectFrom('app_sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('expires_at', '>', at)
      .where('last_used_at', '>', at - this.idleMs);
    if (user) query = query.where(ownedBy(tenantId, user.store, user.username));
    const rows = await query.orderBy('created_at', 'desc').orderBy('id').execute();
    return rows.map((row) => ({
      id: row.id,
      user: displayName(row.store, row.username),
      store: row.store,
      createdAt: new Date(row.created_at).toISOString(),
      lastUsedAt: new Date(row.last_used_at).toISOString(),
      expiresAt: new Date(Math.min(row.expires_at, row.last_used_at + this.idleMs)).toISOString(),
      address: row.address,
      userAgent: row.user_agent,
    }));
  }

  /**
   * Deletes up to `limit` sessions that ended (idle past the timeout, or past their absolute end) and were not
   * used since: the housekeeping's batch (identity/housekeeping.ts), so that the table does not keep every
   * browser that ever signed in and walked away. The condition is repeated in the delete, so a session used
   * on another node meanwhile is kept, and nodes doing this at once delete each row once. The rows deleted.
   */
  async pruneEnded(now: number, limit: number): Promise<number> {
    const ended = endedBy(now, this.idleMs);
    const ids = await this.db
      .selectFrom('app_sessions')
      .select('id')
      .where(ended)
      .orderBy('id')
      .limit(limit)
      .execute();
    if (ids.length === 0) return 0;
    const result = await this.db
      .deleteFrom('app_sessions')
      .where(
        'id',
        'in',
        ids.map((row) => row.id),
      )
      .where(ended)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  private async read(hash: string): Promise<SessionRow | undefined> {
    const row = await this.db
      .selectFrom('app_sessions')
      .selectAll()
      .where('token_hash', '=', hash)
      .executeTakeFirst();
    if (row) this.recent.set(hash, row);
    return row;
  }

  private async endWhere(hash: string): Promise<void> {
    this.recent.delete(hash);
    await this.db.deleteFrom('app_sessions').where('token_hash', '=', hash).execute();
  }

  private expired(row: SessionRow, at: number): boolean {
    return at >= row.expires_at || at - row.last_used_at >= this.idleMs;
  }
}

type SessionsFilter = (eb: ExpressionBuilder<Schema, 'app_sessions'>) => Expression<SqlBool>;

/** One user's sessions in a tenant, the name compared without case (as `sameOwner` compares a cached row). */
function ownedBy(tenantId: number, store: string, username: string): SessionsFilter {
  return (eb) =>
    eb.and([
      eb('tenant_id', '=', tenantId),
      eb('store', '=', store.toUpperCase()),
      eb(sql<string>`lower(username)`, '=', username.toLowerCase()),
    ]);
}

/** Sessions that ended by `now`: idle for `idleMs`, or past their absolute end (as `expired` tells of a row). */
function endedBy(now: number, idleMs: number): SessionsFilter {
  return (eb) => eb.or([eb('expires_at', '<=', now), eb('last_used_at', '<=', now - idleMs)]);
}

/** A duration setting from the environment (tests shorten them), else the default. */
export function secondsFromEnvironment(value: string | undefined, fallback: number): number {
  const seconds = Number(value);
  return value && Number.isFinite(seconds) && seconds > 0 ? seconds : fallback;
}

function sameOwner(row: SessionRow, tenantId: number, store: string, username: string): boolean {
  return (
    row.tenant_id === tenantId &&
    row.store === store.toUpperCase() &&
    row.username.toLowerCase() === username.toLowerCase()
  );
}

function parseRoles(text: string): string[] {
  try {
    const roles: unknown = JSON.parse(text);
    return Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : [];
  } catch {
    return [];
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
