import type { Logger } from 'pino';
import type { SharedCache } from '../cache/shared-cache.js';
import type { InvalidationBus } from '../cluster/bus.js';
import type { TesseraConfig } from '../config/schema.js';
import type { Database } from '../db/connection.js';
import type { HomeLayout } from '../home/layout.js';
import type { AppSessions } from '../identity/app-sessions.js';
import type { AuditLog } from '../identity/audit-log.js';
import type { AuditRetention } from '../identity/audit-retention.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { IdentityHousekeeping } from '../identity/housekeeping.js';
import type { LockoutSettings } from '../identity/lockout-settings.js';
import type { LoginFailures } from '../identity/login-failures.js';
import type { OidcService } from '../identity/oidc/service.js';
import type { PendingSignIns } from '../identity/pending-sign-in.js';
import type { SecondFactor } from '../identity/second-factor.js';
import type { SecondFactorSettings } from '../identity/totp/second-factor-settings.js';
import type { MaintenanceMode } from '../maintenance/mode.js';
import type { Registry } from '../registry/registry.js';
import type { ServerMetrics } from '../telemetry/metrics.js';
import type { PasswordPolicies } from '../tenants/password-policy.js';
import type { TenantService } from '../tenants/service.js';
import type { TenantSettings } from '../tenants/settings.js';
import type { UserStoreManager } from '../userstores/manager.js';
import type { Deployer } from '../webapps/deployer.js';
import type { AppDeployments, AppRequestMetrics } from '../webapps/runtime/contract.js';
import type { ClusterApps } from '../webapps/versions/cluster-apps.js';

/** The services one running server is made of, handed to every route plugin. */
export interface ServerContext {
  config: TesseraConfig;
  layout: HomeLayout;
  database: Database;
  logger: Logger;
  tenants: TenantService;
  /** Each tenant's settings (`tenant_settings`): the password policy, the lockout, ... */
  settings: TenantSettings;
  /** The password policy in force per tenant, checked wherever a password is set. */
  passwordPolicies: PasswordPolicies;
  stores: UserStoreManager;
  deployer: Deployer;
  /** The apps' versions in the database, which every node serves (issue 13). */
  clusterApps: ClusterApps;
  registry: Registry;
  authenticator: Authenticator;
  audit: AuditLog;
  /** How long each tenant's audit entries are kept (README, Audit trail). */
  auditRetention: AuditRetention;
  /** The periodic deletion of expired audit entries and quiet login failures; `runOnce` runs it now. */
  housekeeping: IdentityHousekeeping;
  /** Login lockout (README, Login lockout): each tenant's policy and the failures counted. */
  lockout: { settings: LockoutSettings; failures: LoginFailures };
  /** Sessions of users signed in to apps (README, Signing in to apps), in the database. */
  appSessions: AppSessions;
  /** TOTP authenticators and recovery codes (README, Two-factor sign-in), which the authenticator asks too. */
  secondFactor: SecondFactor;
  /** Each tenant's `second_factor` setting (required for admins or not). */
  secondFactorSettings: SecondFactorSettings;
  /** The sign-in pages' sealed tokens of a password that passed, waiting for its second factor. */
  pendingSignIns: PendingSignIns;
  /** Every tenant's OpenID Connect provider, clients and keys (README, OpenID Connect). */
  oidc: OidcService;
  metrics: ServerMetrics;
  /** The cluster's shared cache (Redis or this process's memory), for health details. */
  cache: SharedCache;
  /** What reaches every node (Redis pub/sub, or this node only): the maintenance switch announces itself. */
  bus: InvalidationBus;
  /** This node's maintenance mode and its gate for writes (README, Maintenance mode). */
  maintenance: MaintenanceMode;
  /** The running `node` apps (the application runtime), for their status in the API; absent: none shown. */
  apps?: AppDeployments;
  /** Per-app request counts and durations, recorded by the front of node apps. */
  appMetrics?: AppRequestMetrics;
}
