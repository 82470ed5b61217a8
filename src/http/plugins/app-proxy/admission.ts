import { isTesseraError } from '../../../errors.js';
import type { AppConfig, AppDirectory, AppEndpoint, RunningApp } from '../../../webapps/runtime/contract.js';
import { settledWithin } from '../../../webapps/runtime/settled-within.js';
import { requestedPath } from '../../../webapps/static-files.js';
import {
  type Answer,
  badPath,
  loginRequired,
  notRunning,
  redirect,
  refusedLogin,
  seeOther,
} from './answers.js';
import type { AppUser } from './headers.js';

/** A node app found for a request: its tenant, its settings and where it is mounted. */
export interface NodeAppRequest {
  readonly tenantId: number;
  readonly tenantDomain: string;
  readonly name: string;
  readonly config: AppConfig;
  /** The app's URL without the trailing slash (`/t/acme.com/shop`), rebuilt from checked parts. */
  readonly mount: string;
  /** How many path segments of the raw URL the mount takes. */
  readonly prefixSegments: number;
  /** The URL as received (raw, not decoded). */
  readonly rawUrl: string;
  /** A WebSocket upgrade: no redirect to the mount's `/` (clients do not follow one), the root is asked. */
  readonly upgrade: boolean;
  /** Where a browser without a user is sent (the sign-in page); `undefined`: answer 401 with a challenge. */
  readonly signInRedirect: string | undefined;
  /** The user named by the request's HTTP Basic credentials or app session, valid in the tenant; `undefined` otherwise. */
  signIn(): Promise<AppUser | undefined>;
}

/** Where the request goes: the running app, its endpoint, the path below the mount and the user. */
export interface Admitted {
  readonly app: RunningApp;
  readonly endpoint: AppEndpoint;
  /** The path below the mount with the query, as received (`/cart?x=1`). */
  readonly path: string;
  readonly user: AppUser | undefined;
}

/**
 * Decides a request to a node app in Tessera's process, for plain requests and upgrades alike (DESIGN.md
 * section 4): a path escaping the app is refused, sign-in is checked before the app sees anything, the
 * mount alone is redirected to its `/`, and an app that is not running is answered 503 with `Retry-After`.
 * An app still `starting` is waited for (up to its request timeout) rather than refused, so the first
 * requests after a deployment are served.
 */
export async function admit(request: NodeAppRequest, apps: AppDirectory): Promise<Admitted | Answer> {
  const requested = requestedPath(request.rawUrl, request.prefixSegments);
  if (!requested) return badPath();
  let user: AppUser | undefined;
  if (request.config.login) {
    try {
      user = await request.signIn();
    } catch (error) {
      // A login refused with a reason of its own (locked: 429 with Retry-After; an expired password: 403; a
      // store not loaded yet: 503), answered as the API would, for a plain request and an upgrade alike: an
      // upgrade has no error handler to turn a throw into an answer.
      if (isTesseraError(error) && error.httpStatus !== 500) return refusedLogin(error);
      throw error;
    }
    if (!user)
      return request.signInRedirect && !request.upgrade
        ? seeOther(request.signInRedirect)
        : loginRequired(request.name);
  }
  if (!requested.belowApp && !request.upgrade) return redirect(`${request.mount}/${requested.query}`);

  const app = apps.get(request.tenantId, request.name);
  if (!app) return notRunning(request.name, 'stopped', 1);
  if (app.status().state === 'starting') {
    // Whatever settled() does (a directory may reject it), the state read below decides the answer.
    await settledWithin(app, request.config.limits.requestTimeoutS * 1000).catch(() => undefined);
  }
  const state = app.status().state;
  const endpoint = state === 'running' ? app.endpoint() : undefined;
  if (!endpoint) return notRunning(request.name, state, Math.max(1, Math.ceil(app.retryAfterS())));
  return { app, endpoint, path: `${requested.rawBelow}${requested.query}`, user };
}

export function isAnswer(value: Admitted | Answer): value is Answer {
  return 'status' in value;
}
