import type { Session } from './types';

/** An error answer of the admin API: `{ error: CODE, message }` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface RequestOptions {
  body?: unknown;
  /** Sent as is with this content type instead of as JSON (uploads). */
  raw?: { data: Blob; contentType: string };
}

/** Waits for the user to log in again; rejects if they give up. */
type Reauthenticate = () => Promise<void>;

/**
 * The session token lives in this variable only, never in web storage: any page of the console's origin
 * could read storage, and a reload asking for the password again is the price. Earlier versions kept it
 * in sessionStorage; that copy is dropped.
 */
let token: string | undefined;
try {
  sessionStorage.removeItem('tessera.session');
} catch {
  // Storage may be disabled; there is then nothing to drop.
}
let reauthenticate: Reauthenticate | undefined;

let maintenanceSeen: ((message: string) => void) | undefined;

/** Called with the message of every write the server refused for maintenance (503 MAINTENANCE). */
export function onMaintenance(handler: ((message: string) => void) | undefined): void {
  maintenanceSeen = handler;
}

/** Called with every 401 an admin call gets; the call is tried again once the promise resolves. */
export function onSessionExpired(handler: Reauthenticate | undefined): void {
  reauthenticate = handler;
}

async function send(method: string, path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.raw) {
    headers['content-type'] = options.raw.contentType;
    body = options.raw.data;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  return fetch(`/api/v1${path}`, { method, headers, body });
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as { error?: string; message?: string };
    return new ApiError(response.status, parsed.error ?? 'ERROR', parsed.message ?? response.statusText);
  } catch {
    return new ApiError(response.status, 'ERROR', text || `${response.status} ${response.statusText}`);
  }
}

/**
 * One admin API call. A 401 (the session expired, or the server restarted) waits for the user to log in
 * again and then repeats the call, so that whatever they were doing goes through as if nothing happened.
 */
export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const response = await send(method, path, options);
    if (response.status === 401 && reauthenticate && attempt < 3) {
      await reauthenticate();
      continue;
    }
    if (!response.ok) {
      const error = await errorOf(response);
      if (error.code === 'MAINTENANCE') maintenanceSeen?.(error.message);
      throw error;
    }
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }
}

/** A TOTP code or a recovery code, for an account with two-factor sign-in. */
export interface SecondFactor {
  otp?: string;
  recoveryCode?: string;
}

/**
 * Logs in: a session token for the calls that follow. An account with two-factor sign-in answers
 * `SECOND_FACTOR_REQUIRED` to the password alone; the form then asks for the code and calls this again.
 */
export async function login(
  username: string,
  password: string,
  secondFactor: SecondFactor = {},
): Promise<Session> {
  const response = await fetch('/api/v1/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ username, password, ...secondFactor }),
  });
  if (!response.ok) throw await errorOf(response);
  const session = (await response.json()) as Session;
  token = session.token;
  return session;
}

export async function logout(): Promise<void> {
  if (token) await send('DELETE', '/sessions/current', {}).catch(() => undefined);
  token = undefined;
}

/** Path segments as the API expects them: each one encoded, slashes in names included. */
export const seg = (value: string): string => encodeURIComponent(value);

/**
 * A user changes their own password with the current one (`POST /api/v1/password`), the way out of
 * PASSWORD_EXPIRED. Outside `api()`: no session is involved, and a 401 here is a wrong password, not an
 * expired session to log in again for.
 */
export async function changePassword(username: string, currentPassword: string, newPassword: string) {
  const response = await fetch('/api/v1/password', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ username, currentPassword, newPassword }),
  });
  if (!response.ok) throw await errorOf(response);
}
