import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from './authenticator.js';

/** How long an unused console session lives, unless `TESSERA_SESSION_IDLE_SECONDS` says otherwise. */
export const DEFAULT_IDLE_SECONDS = 30 * 60;
/** However busy, a session ends this long after it began: a stolen token is not good forever. */
export const MAX_SESSION_SECONDS = 12 * 60 * 60;
/** Sessions one user may hold at once; logging in once more ends their oldest. */
export const MAX_SESSIONS_PER_USER = 20;
/**
 * How often a session's user is looked up again (still there, still an admin). Changes made through the
 * API revoke at once (`revokeUser`); this catches those made behind its back (an LDAP group, another node).
 */
export const RECHECK_SECONDS = 60;

export interface Session {
  token: string;
  principal: Principal;
  expiresAt: Date;
}

/**
 * Which tenant a session was opened in. Tenant ids are not given again (tenants/id-mark.ts), but a database
 * put back from a backup older than a tenant can give that tenant's id to another one created under the
 * same domain: its creation time tells them apart.
 */
export interface SessionTenant {
  id: number;
  createdAt: string;
}

/** What `use` hands back for a live session. */
export interface LiveSession {
  principal: Principal;
  tenant: SessionTenant;
  /** The user has not been looked up for `RECHECK_SECONDS`; call `checked` once they have been. */
  recheckDue: boolean;
}

interface Entry {
  owner: string;
  principal: Principal;
  tenant: SessionTenant;
  createdAt: number;
  lastUsed: number;
  checkedAt: number;
}

export interface SessionStoreOptions {
  maxPerUser?: number;
  recheckSeconds?: number;
  /** How often expired sessions are forgotten; 0 for never (tests that drive the clock sweep by hand). */
  sweepSeconds?: number;
}

/**
 * Bearer tokens for the console, kept in this node's memory only: a restart or another node does not know
 * them, and the console answers that 401 by asking for the password again. Tokens are stored as their
 * SHA-256 so that a heap dump does not hand out live sessions.
 */
export class SessionStore {
  private readonly entries = new Map<string, Entry>();
  /** Each user's sessions (their keys), oldest first: a login and a revocation touch only that user's. */
  private readonly byOwner = new Map<string, string[]>();
  private readonly idleMs: number;
  private readonly maxPerUser: number;
  private readonly recheckMs: number;
  private readonly sweeper: NodeJS.Timeout | undefined;

  constructor(
    idleSeconds: number = DEFAULT_IDLE_SECONDS,
    // Read at each call, not captured: tests move the clock with fake timers.
    private readonly now: () => number = () => Date.now(),
    options: SessionStoreOptions = {},
  ) {
    this.idleMs = idleSeconds * 1000;
    this.maxPerUser = options.maxPerUser ?? MAX_SESSIONS_PER_USER;
    this.recheckMs = (options.recheckSeconds ?? RECHECK_SECONDS) * 1000;
    const sweepMs = (options.sweepSeconds ?? Math.min(idleSeconds, 60)) * 1000;
    // Sweeping on a timer rather than in `create` keeps a login from costing a walk over every session.
    if (sweepMs > 0) {
      this.sweeper = setInterval(() => this.sweep(), sweepMs);
      this.sweeper.unref();
    }
  }

  create(principal: Principal, tenant: SessionTenant): Session {
    const owner = ownerKey(principal.tenantId, principal.store, principal.username);
    const own = this.byOwner.get(owner) ?? [];
    // Oldest first: a script logging in in a loop cannot grow memory.
    for (const key of own.splice(0, Math.max(0, own.length - this.maxPerUser + 1))) this.entries.delete(key);
    const token = randomBytes(32).toString('base64url');
    const key = digest(token);
    const at = this.now();
    this.entries.set(key, { owner, principal, tenant, createdAt: at, lastUsed: at, checkedAt: at });
    own.push(key);
    this.byOwner.set(owner, own);
    return { token, principal, expiresAt: new Date(at + this.idleMs) };
  }

  /** The live session, touching it so that it stays alive, or `undefined` once it expired. */
  use(token: string): LiveSession | undefined {
    const key = digest(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const at = this.now();
    if (this.expired(entry, at)) {
      this.remove(key);
      return undefined;
    }
    entry.lastUsed = at;
    return {
      principal: entry.principal,
      tenant: entry.tenant,
      recheckDue: at - entry.checkedAt >= this.recheckMs,
    };
  }

  /** The session's user was found still entitled to it: no new lookup for another `RECHECK_SECONDS`. */
  checked(token: string): void {
    const entry = this.entries.get(digest(token));
    if (entry) entry.checkedAt = this.now();
  }

  revoke(token: string): boolean {
    return this.remove(digest(token));
  }

  /**
   * Ends every session of one user (deleted, roles changed, password reset). Names are compared without
   * case: stores may match names so, and ending one session too many only costs a login.
   */
  revokeUser(tenantId: number, store: string, username: string): number {
    const owner = ownerKey(tenantId, store, username);
    const own = this.byOwner.get(owner) ?? [];
    for (const key of own) this.entries.delete(key);
    this.byOwner.delete(owner);
    return own.length;
  }

  /**
   * Changes the principal of every session of one user (an admin who had to enrol a second factor has
   * now: their sessions are no longer limited to enrolment).
   */
  updateUser(
    tenantId: number,
    store: string,
    username: string,
    change: (principal: Principal) => Principal,
  ): void {
    for (const key of this.byOwner.get(ownerKey(tenantId, store, username)) ?? []) {
      const entry = this.entries.get(key);
      if (entry) entry.principal = change(entry.principal);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Stops the sweeping timer (the server is closing). */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  /** Forgets expired sessions, so that abandoned logins do not pile up in memory. */
  sweep(): void {
    const at = this.now();
    for (const [key, entry] of this.entries) if (this.expired(entry, at)) this.remove(key);
  }

  private remove(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    const own = this.byOwner.get(entry.owner)?.filter((k) => k !== key) ?? [];
    if (own.length > 0) this.byOwner.set(entry.owner, own);
    else this.byOwner.delete(entry.owner);
    return true;
  }

  private expired(entry: Entry, at: number): boolean {
    return at - entry.lastUsed >= this.idleMs || at - entry.createdAt >= MAX_SESSION_SECONDS * 1000;
  }
}

/** The idle expiry from the environment (tests shorten it), else the default. */
export function idleSecondsFromEnvironment(value: string | undefined): number {
  const seconds = Number(value);
  return value && Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_IDLE_SECONDS;
}

function ownerKey(tenantId: number, store: string, username: string): string {
  return `${tenantId}\u0000${store.toUpperCase()}\u0000${username.toLowerCase()}`;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
