import { createHash, randomBytes } from 'node:crypto';
import type { Principal } from './auth.js';

/** How long an unused console session lives, unless `TESSERA_SESSION_IDLE_SECONDS` says otherwise. */
export const DEFAULT_IDLE_SECONDS = 30 * 60;
/** However busy, a session ends this long after it began: a stolen token is not good forever. */
export const MAX_SESSION_SECONDS = 12 * 60 * 60;

export interface Session {
  token: string;
  principal: Principal;
  expiresAt: Date;
}

interface Entry {
  principal: Principal;
  createdAt: number;
  lastUsed: number;
}

/**
 * Bearer tokens for the console, kept in this node's memory only: a restart or another node does not know
 * them, and the console answers that 401 by asking for the password again. Tokens are stored as their
 * SHA-256 so that a heap dump does not hand out live sessions.
 */
export class SessionStore {
  private readonly entries = new Map<string, Entry>();
  private readonly idleMs: number;

  constructor(
    idleSeconds: number = DEFAULT_IDLE_SECONDS,
    private readonly now: () => number = Date.now,
  ) {
    this.idleMs = idleSeconds * 1000;
  }

  create(principal: Principal): Session {
    this.sweep();
    const token = randomBytes(32).toString('base64url');
    const at = this.now();
    this.entries.set(digest(token), { principal, createdAt: at, lastUsed: at });
    return { token, principal, expiresAt: new Date(at + this.idleMs) };
  }

  /** The session's principal, touching it so that it stays alive, or `undefined` once it expired. */
  use(token: string): Principal | undefined {
    const key = digest(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    const at = this.now();
    if (this.expired(entry, at)) {
      this.entries.delete(key);
      return undefined;
    }
    entry.lastUsed = at;
    return entry.principal;
  }

  revoke(token: string): boolean {
    return this.entries.delete(digest(token));
  }

  get size(): number {
    return this.entries.size;
  }

  private expired(entry: Entry, at: number): boolean {
    return at - entry.lastUsed >= this.idleMs || at - entry.createdAt >= MAX_SESSION_SECONDS * 1000;
  }

  /** Forgets expired sessions, so that abandoned logins do not pile up in memory. */
  private sweep(): void {
    const at = this.now();
    for (const [key, entry] of this.entries) if (this.expired(entry, at)) this.entries.delete(key);
  }
}

/** The idle expiry from the environment (tests shorten it), else the default. */
export function idleSecondsFromEnvironment(value: string | undefined): number {
  const seconds = Number(value);
  return value && Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_IDLE_SECONDS;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
