import { TesseraError } from '../errors.js';
import { SUPER_TENANT_ID } from '../home/layout.js';
import { ADMIN_ROLE, type Tenant, type TenantService } from '../tenants/service.js';
import type { UserStoreManager } from '../userstores/manager.js';
import { displayName, PRIMARY_DOMAIN, parseQualifiedName, type QualifiedName } from '../userstores/names.js';
import { prepareDummyHash, verifyAgainstDummy } from '../userstores/passwords.js';
import type { UserStore } from '../userstores/types.js';
import type { AuditLog } from './audit-log.js';
import type { FailureSubject } from './login-failures.js';
import { type LoginAdmission, type LoginGuard, LoginLocked, normaliseAddress } from './login-guard.js';
import type { PasswordAge } from './password-age.js';
import type { SecondFactor, SecondFactorProof, SecondFactorVerdict } from './second-factor.js';

/** Who is calling, once their credentials checked out. */
export interface Principal {
  tenantId: number;
  tenantDomain: string;
  store: string;
  username: string;
  /** `[STORE/]name@tenant` as the caller would type it. */
  qualifiedName: string;
  roles: string[];
  /** Holds the PRIMARY store's `admin` role of its tenant. */
  isTenantAdmin: boolean;
  /** A tenant admin of the super tenant: manages every tenant. */
  isSuperAdmin: boolean;
  /**
   * An admin whose tenant requires a second factor and who has none yet: the admin API lets them enrol
   * one and nothing else (README, Two-factor sign-in). Absent for everyone else.
   */
  mustEnrolSecondFactor?: true;
}

/** Which login path an attempt came by, as the audit trail names it. */
export type LoginPath =
  | 'authenticate'
  | 'basic'
  | 'session'
  | 'password'
  | `app:${string}`
  | 'app-sign-in'
  | `oidc:${string}`;

/** One login as a path received it: every path names the client's address, for the address's count. */
export interface LoginAttempt {
  /** As typed: `[STORE/]name[@tenant]`, or `[STORE/]name` inside a known tenant (`authenticateInTenant`). */
  name: string;
  password: string;
  /** The client's address as Fastify sees it (`request.ip`: the socket's peer, no proxy trusted). */
  address: string;
  via: LoginPath;
  /**
   * The password change path (`POST /password`): a right but expired password still proves who is asking,
   * and is the one thing it may be used for. Every other path refuses it with PASSWORD_EXPIRED.
   */
  allowExpired?: boolean;
  /** A TOTP code or a recovery code, for an account with an authenticator (README, Two-factor sign-in). */
  secondFactor?: SecondFactorProof;
}

/**
 * The password was right and the account has an active authenticator, but no code came with it (`wrong`:
 * one came and was wrong or already used, and was counted as a failed login). 401 SECOND_FACTOR_REQUIRED.
 * A login path that asks for the code on a page of its own keeps `principal` (never shown to the client)
 * and calls `Authenticator.completeSecondFactor` with the code.
 */
export class SecondFactorRequired extends TesseraError {
  constructor(
    readonly principal: Principal,
    readonly wrong: boolean,
    /** The password was right but past the policy's maximum age: the code's page must not open a session. */
    readonly passwordExpired = false,
  ) {
    super(
      'SECOND_FACTOR_REQUIRED',
      wrong
        ? 'The code is wrong or was already used: type the code your authenticator shows now, or a recovery code.'
        : 'This account uses two-factor sign-in: send the code of its authenticator as `otp` (or a recovery code as `recoveryCode`).',
    );
  }
}

/** Why a login was refused (never told to the caller, who always gets the same answer). */
export type RefusalReason =
  | 'malformed-name'
  | 'unknown-tenant'
  | 'inactive-tenant'
  | 'unknown-store'
  | 'unknown-user'
  | 'wrong-password'
  /** The store refused, and could not say afterwards whether the user exists. */
  | 'wrong-credentials'
  | 'locked-account'
  | 'locked-address'
  /** The right password, past the policy's maximum age (README, Password policy). */
  | 'password-expired';

type Outcome = { principal: Principal; expired?: boolean } | { reason: RefusalReason; store?: string };

/** Counts each attempt by outcome (the `tessera_authentications_total` counter). */
export type OutcomeCounter = (outcome: 'success' | 'failure' | 'locked' | 'expired') => void;

/**
 * Checks `[STORE/]name[@tenant]` and a password against the tenant's stores, behind the `LoginGuard`
 * (README, Login lockout): every login path ends here, so none can skip the lock. A locked account or
 * address is refused with `LoginLocked` (429) before any hash is computed; a tenant whose PRIMARY store this
 * node has not loaded yet (it was created on another node a moment ago) with 503, uncounted. Every other
 * failure (malformed name, unknown tenant, inactive tenant, unknown store, unknown user, wrong password) is the
 * same `undefined`, counted against the account and the address, and costs the same time: where there is
 * no hash to check, the password is verified against a dummy argon2id hash, so that how long a refusal
 * takes does not tell which part was wrong.
 */
export class Authenticator {
  constructor(
    private readonly tenants: TenantService,
    private readonly stores: UserStoreManager,
    private readonly guard: LoginGuard,
    private readonly count: OutcomeCounter = () => {},
    /** The audit trail: every attempt a row (`login.success`, `login.failure`, `login.locked`). */
    private readonly audit?: AuditLog,
    /** The password policy's maximum age; without it no password expires. */
    private readonly passwordAge?: PasswordAge,
    /** TOTP, asked once the password checked out; without it no account has a second factor. */
    private readonly secondFactor?: SecondFactor,
  ) {
    // The first refusal must not be the one that pays for making the dummy hash.
    prepareDummyHash().catch(() => {});
  }

  async authenticate(attempt: LoginAttempt): Promise<Principal | undefined> {
    let name: QualifiedName;
    try {
      name = parseQualifiedName(attempt.name);
    } catch {
      return this.guarded(undefined, attempt, async () => refuse(attempt.password, 'malformed-name'));
    }
    return this.authenticateIn(name, attempt);
  }

  /** For a name typed inside a known tenant (a webapp's login): `[STORE/]name`. */
  async authenticateInTenant(tenantDomain: string, attempt: LoginAttempt): Promise<Principal | undefined> {
    let name: QualifiedName;
    try {
      name = parseQualifiedName(attempt.name, tenantDomain);
    } catch {
      return this.guarded(undefined, attempt, async () => refuse(attempt.password, 'malformed-name'));
    }
    // Another tenant's name typed into this tenant's app names no account here: the address is counted.
    if (name.tenantDomain !== tenantDomain)
      return this.guarded(undefined, attempt, async () => refuse(attempt.password, 'malformed-name'));
    return this.authenticateIn(name, attempt);
  }

  private async authenticateIn(name: QualifiedName, attempt: LoginAttempt): Promise<Principal | undefined> {
    const tenant = await this.tenants.get(name.tenantDomain);
    // A tenant that does not exist is counted under the domain typed, so that a lock tells nothing.
    const account: FailureSubject = {
      kind: 'account',
      subject: accountSubject(tenant?.id ?? name.tenantDomain, name.store, name.name),
      tenantId: tenant?.id ?? null,
    };
    return this.guarded(
      account,
      attempt,
      () => this.check(tenant, name, attempt.password),
      tenant?.id,
      name.store,
    );
  }

  /** The lock checked first (no hash spent on a locked subject), then the check, its count and its audit. */
  private async guarded(
    account: FailureSubject | undefined,
    attempt: LoginAttempt,
    check: () => Promise<Outcome>,
    tenantId?: number,
    store?: string,
  ): Promise<Principal | undefined> {
    const auditIn = tenantId ?? SUPER_TENANT_ID;
    const admission = await this.admitted(account, attempt, tenantId, store);
    const outcome = await check();
    if ('principal' in outcome)
      return this.afterPassword(admission, outcome.principal, attempt, outcome.expired === true);
    await this.guard.failed(admission);
    this.count('failure');
    await this.record(auditIn, attempt, 'login.failure', outcome.reason, outcome.store ?? store);
    return undefined;
  }

  /**
   * Checks a signed-in principal's password again (to disable their second factor), inside the lockout: a
   * wrong one counts as a failed login, so a session left open is no way to guess the password.
   */
  async confirmPassword(principal: Principal, password: string, address: string): Promise<boolean> {
    const account = principalAccount(principal);
    const attempt: LoginAttempt = { name: principal.qualifiedName, password, address, via: 'session' };
    const admission = await this.admitted(account, attempt, principal.tenantId, principal.store);
    const store = this.stores.store(principal.tenantId, principal.store);
    const user = store ? await store.authenticate(principal.username, password) : undefined;
    if (user) await this.guard.succeeded(admission);
    else await this.guard.failed(admission);
    return user !== undefined;
  }

  /**
   * Checks a current code of a signed-in principal's authenticator (to disable it or renew its recovery
   * codes), inside the lockout: a wrong code counts as a failed login, so a stolen session cannot guess codes
   * there without end. True when the code was good (and is now used).
   */
  async confirmCode(principal: Principal, otp: string, address: string): Promise<boolean> {
    const attempt: LoginAttempt = { name: principal.qualifiedName, password: '', address, via: 'session' };
    const admission = await this.admitted(
      principalAccount(principal),
      attempt,
      principal.tenantId,
      principal.store,
    );
    const good = (await this.secondFactor?.verifyCode(principal, otp)) === true;
    if (good) await this.guard.succeeded(admission);
    else await this.guard.failed(admission);
    return good;
  }

  /** The guard's admission, or its `LoginLocked` counted and audited. */
  private async admitted(
    account: FailureSubject | undefined,
    attempt: LoginAttempt,
    tenantId: number | undefined,
    store: string | undefined,
  ): Promise<LoginAdmission> {
    try {
      return await this.guard.admit(account, attempt.address, tenantId);
    } catch (error) {
      if (error instanceof LoginLocked) {
        this.count('locked');
        await this.record(
          tenantId ?? SUPER_TENANT_ID,
          attempt,
          'login.locked',
          `locked-${error.locked}`,
          store,
        );
      }
      throw error;
    }
  }

  /**
   * The second step of a login whose password was checked earlier, on a page of its own: `principal` is the
   * one `SecondFactorRequired` carried. Goes through the lockout like a password: refused with 429 while the
   * account or address is locked, a wrong code counted as a failed login. The principal on success;
   * `SecondFactorRequired` (with `wrong`) otherwise.
   */
  async completeSecondFactor(
    principal: Principal,
    proof: SecondFactorProof,
    attempt: Omit<LoginAttempt, 'password' | 'secondFactor'>,
    passwordExpired = false,
  ): Promise<Principal> {
    const account = principalAccount(principal);
    const full: LoginAttempt = { ...attempt, password: '', secondFactor: proof };
    const admission = await this.admitted(account, full, principal.tenantId, principal.store);
    return this.afterPassword(admission, principal, full, passwordExpired);
  }

  /**
   * Asks the second factor once the password checked out: only a login complete with it resets the account's
   * count (a right password alone must not, or guessing codes between two password logins would never lock);
   * a wrong code is a failed login; no code at all is neither, and is told to the caller.
   */
  private async afterPassword(
    admission: LoginAdmission,
    principal: Principal,
    attempt: LoginAttempt,
    passwordExpired: boolean,
  ): Promise<Principal> {
    const auditIn = principal.tenantId;
    const verdict: SecondFactorVerdict = this.secondFactor
      ? await this.secondFactor.judge(principal, attempt.secondFactor)
      : { kind: 'none', enrolmentRequired: false };
    if (verdict.kind === 'missing') {
      await this.record(auditIn, attempt, 'login.second-factor.required', 'no-code', principal.store);
      throw new SecondFactorRequired(principal, false, passwordExpired);
    }
    if (verdict.kind === 'wrong') {
      await this.guard.failed(admission);
      this.count('failure');
      await this.record(auditIn, attempt, 'login.second-factor.failure', 'wrong-code', principal.store);
      throw new SecondFactorRequired(principal, true, passwordExpired);
    }
    if (passwordExpired) {
      // Asked after the second factor, so that a password alone does not learn that it is right. The right
      // credentials, so no guess to count; but no login either, except on the path that changes the password.
      await this.guard.succeeded(admission);
      this.count('expired');
      const action = attempt.allowExpired ? 'login.success' : 'login.failure';
      await this.record(auditIn, attempt, action, 'password-expired', principal.store);
      if (attempt.allowExpired) return principal;
      throw new TesseraError(
        'PASSWORD_EXPIRED',
        `The password of ${principal.qualifiedName} has expired: change it to log in.`,
        { hint: 'POST /api/v1/password {username, currentPassword, newPassword}' },
      );
    }
    await this.guard.succeeded(admission);
    this.count('success');
    if (verdict.kind === 'passed') {
      await this.record(auditIn, attempt, 'login.second-factor.success', verdict.method, principal.store);
      if (verdict.method === 'recovery-code')
        await this.audit?.record(auditIn, principal, 'totp.recovery-used', principal.qualifiedName, {
          left: verdict.recoveryCodesLeft ?? null,
          address: normaliseAddress(attempt.address),
        });
    }
    await this.record(auditIn, attempt, 'login.success', 'ok', principal.store);
    return verdict.kind === 'none' && verdict.enrolmentRequired
      ? { ...principal, mustEnrolSecondFactor: true }
      : principal;
  }

  /** One audit row; AuditLog logs a failed write and never throws, so a login never fails for it. */
  private async record(
    tenantId: number,
    attempt: LoginAttempt,
    action: string,
    reason: string,
    store: string | undefined,
  ): Promise<void> {
    await this.audit?.record(tenantId, attempt.name, action, attempt.via, {
      reason,
      store: store ?? null,
      address: normaliseAddress(attempt.address),
    });
  }

  private async check(tenant: Tenant | undefined, name: QualifiedName, password: string): Promise<Outcome> {
    if (!tenant) return refuse(password, 'unknown-tenant');
    if (!tenant.active) return refuse(password, 'inactive-tenant');
    const storeDomain = name.store;
    const store = this.stores.store(tenant.id, storeDomain);
    // Every tenant has its PRIMARY store: without it this node does not serve the tenant yet (created on
    // another node a moment ago). It cannot check the password, so it is no guess to count: 503, retry.
    if (!store && storeDomain === PRIMARY_DOMAIN)
      throw new TesseraError(
        'STORE_UNAVAILABLE',
        `This node does not serve ${tenant.domain} yet; try again.`,
        {
          retryAfterSeconds: 1,
        },
      );
    if (!store) return refuse(password, 'unknown-store');
    // The store spends argon2's time itself on an unknown user or a wrong password.
    const user = await store.authenticate(name.name, password);
    if (!user) return { reason: this.audit ? await refusedUser(store, name.name) : 'wrong-credentials' };
    const roles = user.roles.map((role) => displayName(storeDomain, role));
    const isTenantAdmin = storeDomain === PRIMARY_DOMAIN && user.roles.includes(ADMIN_ROLE);
    // Only a store that records when a password was set (PRIMARY) says so; others never expire.
    const expired =
      user.passwordChangedAt !== undefined &&
      this.passwordAge !== undefined &&
      (await this.passwordAge.expired(tenant.id, user.passwordChangedAt));
    return {
      expired,
      principal: {
        tenantId: tenant.id,
        tenantDomain: tenant.domain,
        store: storeDomain,
        username: user.username,
        qualifiedName: `${displayName(storeDomain, user.username)}@${tenant.domain}`,
        roles,
        isTenantAdmin,
        isSuperAdmin: isTenantAdmin && tenant.id === SUPER_TENANT_ID,
      },
    };
  }
}

/**
 * The account a name stands for, as counted in `login_failures`: `<tenant id>/<STORE>/<name>`. The name
 * is lower-cased: a store that compares names without case (MySQL's collation, LDAP) must not give an
 * attacker a fresh count per spelling.
 */
export function accountSubject(tenant: number | string, store: string, name: string): string {
  return `${tenant}/${store}/${name.toLowerCase()}`;
}

/** The lockout's account subject of a principal that passed its password. */
function principalAccount(principal: Principal): FailureSubject {
  return {
    kind: 'account',
    subject: accountSubject(principal.tenantId, principal.store, principal.username),
    tenantId: principal.tenantId,
  };
}

/**
 * Which of the store's two refusals it was, for the audit trail only (the caller never learns it). A lookup
 * through the cache, after the hash: known users are usually cached, and the difference is far under
 * argon2's own spread.
 */
async function refusedUser(store: UserStore, name: string): Promise<RefusalReason> {
  try {
    return (await store.getUser(name)) ? 'wrong-password' : 'unknown-user';
  } catch {
    return 'wrong-credentials';
  }
}

/** A refusal with no hash to check, made to take as long as a wrong password does. */
async function refuse(password: string, reason: RefusalReason): Promise<Outcome> {
  await verifyAgainstDummy(password);
  return { reason };
}

/**
 * The admin API's tenant scope: the super admin reaches every tenant, a tenant admin only its own, and
 * another tenant's resources do not exist for them (404, not 403, so names do not leak).
 */
export function assertCanManage(principal: Principal, tenantDomain: string): void {
  if (principal.isSuperAdmin) return;
  if (principal.tenantDomain !== tenantDomain)
    throw new TesseraError('NOT_FOUND', `No tenant ${tenantDomain}.`);
  if (!principal.isTenantAdmin) throw new TesseraError('FORBIDDEN', 'Only a tenant admin may do this.');
}

export function assertSuperAdmin(principal: Principal): void {
  if (!principal.isSuperAdmin)
    throw new TesseraError('FORBIDDEN', 'Only the super tenant admin may do this.');
}
