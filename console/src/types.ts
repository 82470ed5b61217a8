/** The admin API's answers, as the console reads them (see /openapi.json). */

export interface SessionUser {
  name: string;
  tenant: string;
  roles: string[];
  isTenantAdmin: boolean;
  isSuperAdmin: boolean;
  /** The tenant requires a second factor of admins and this one has none: only the Account page is open. */
  mustEnrolSecondFactor?: boolean;
}

export interface Session {
  token: string;
  expiresAt: string;
  user: SessionUser;
}

export interface Tenant {
  id: number;
  domain: string;
  adminUsername: string;
  active: boolean;
  createdAt: string;
}

export interface UserStore {
  domain: string;
  type: 'primary' | 'jdbc' | 'ldap';
  url?: string;
  readOnly: boolean;
  description?: string;
  status: 'up' | 'error';
  error?: string;
}

export interface LdapSettings {
  bindDn: string;
  bindPassword: string;
  userSearchBase: string;
  groupSearchBase: string;
}

export interface NewUserStore {
  domain: string;
  type: 'jdbc' | 'ldap';
  url: string;
  readOnly: boolean;
  description?: string;
  ldap?: LdapSettings;
}

export interface User {
  username: string;
  store: string;
  roles: string[];
  attributes: Record<string, string>;
  system: boolean;
}

export interface Role {
  name: string;
  store: string;
  users: string[];
  system: boolean;
}

/** A node app's process on the node that answered (GET .../webapps, `status`). */
export interface WebAppStatus {
  state: 'starting' | 'running' | 'restarting' | 'error' | 'stopped';
  reason?: string;
  restarts: number;
  memoryBytes?: number;
  since: string;
  /** The version serving. */
  version?: string;
  /** A redeploy under way: the new version starting beside the one serving. */
  next?: { version: string; state: string; since: string };
  /** The last redeploy that did not take over (the version above kept serving), and why. */
  failed?: { version: string; reason: string; at: string };
}

/** What one live node serves of an app (GET .../webapps, `nodes`), as of its last report. */
export interface WebAppOnNode {
  /** The node's id: for the super tenant's admins only. */
  node?: string;
  state: WebAppStatus['state'] | 'serving' | 'not-deployed' | 'unknown';
  version?: string;
  restarts?: number;
  reason?: string;
}

export interface WebApp {
  name: string;
  source: 'zip' | 'folder';
  /** `static`: files served by Tessera; `node`: `entry` runs in its own process. */
  runtime: 'static' | 'node';
  entry?: string;
  login: boolean;
  health?: string;
  limits?: { memoryMb: number; requestTimeoutS: number; maxConcurrent: number; maxBodyMb: number };
  /** Absent for static apps, and where the server runs no app processes. */
  status?: WebAppStatus;
  url: string;
  deployedAt: string;
  /** The cluster's number of the version this node deployed ("1", "2", ...). */
  version: string;
  /** Each live node and what it serves of the app. */
  nodes?: WebAppOnNode[];
}

/** One numbered version of an app, as the cluster keeps it (GET .../webapps/{app}/versions). */
export interface AppVersion {
  version: number;
  /** The version every node serves (or is switching to). */
  current: boolean;
  /** SHA-256 of its zip, in hex. */
  checksum: string;
  sizeBytes: number;
  /** `upload`: through the API (or the console); `zip` or `folder`: dropped into a webapps/ folder. */
  origin: 'upload' | 'zip' | 'folder';
  deployedBy: string;
  deployedAt: string;
  /** Why it did not start where it was deployed. */
  failure?: string;
  /** Its zip is still kept (deployment.keep_versions), so it can be rolled back to. */
  available: boolean;
  /** When its zip was dropped; set exactly when `available` is false. */
  prunedAt?: string;
}

export interface AppVersions {
  name: string;
  /** The cluster's current version; null once the app is undeployed. */
  current: number | null;
  /** deployment.keep_versions: how many of the newest versions keep their zip. */
  keep: number;
  /** Newest first. */
  versions: AppVersion[];
}

/** An entry of a tenant's webapps/ folder that is not deployed, and why (GET .../webapps, `refused`). */
export interface RefusedApp {
  name: string;
  entry: string;
  source: 'zip' | 'folder';
  error: string;
  message: string;
}

export interface RegistryResource {
  path: string;
  version: number;
  mediaType: string;
  content: string;
  encoding: 'utf8' | 'base64';
  properties: Record<string, string>;
  createdBy: string;
  createdAt: string;
}

export interface ClusterNode {
  nodeId: string;
  host: string;
  port: number;
  release: string;
  startedAt: number;
  lastHeartbeat: number;
  secondsSinceHeartbeat: number;
  state: 'live' | 'gone';
}

export interface ClusterStatus {
  heartbeatSeconds: number;
  goneAfterSeconds: number;
  nodes: ClusterNode[];
}

export type StepStatus = 'pending' | 'running' | 'done' | 'failed';

export interface JournalStep {
  status: StepStatus;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  attempts: number;
  details?: Record<string, unknown>;
  error?: { code: string; message: string };
}

export interface Journal {
  id: string;
  createdAt: string;
  updatedAt: string;
  status: 'running' | 'failed' | 'completed';
  command: { fromHome: string; home: string; stagingUrl: string; to?: string };
  plan: {
    sourceRelease: string;
    targetRelease: string;
    hops: string[];
    kind: string;
    productionUrl: string;
    stagingUrl: string;
  };
  steps: Record<string, JournalStep>;
  events: { at: string; step: string; message: string }[];
  outage?: { startedAt: string; endedAt: string; durationMs: number };
}

export interface UpgradeReport {
  text: string;
  journal: Journal;
}

/** `GET /me/totp`: the signed-in user's authenticator. */
export interface TotpStatus {
  state: 'none' | 'pending' | 'active';
  recoveryCodesLeft: number;
  requiredForAdmins: boolean;
}

/** `POST /me/totp`: a new secret, active once confirmed with a code. */
export interface TotpEnrolment {
  secret: string;
  uri: string;
  digits: number;
  period: number;
}
