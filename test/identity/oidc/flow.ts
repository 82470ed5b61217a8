import * as client from 'openid-client';

/** A cookie jar for one user agent on 127.0.0.1 (cookies ignore ports, so two nodes share it). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** One request as a browser would make it, redirects not followed. */
export async function browse(
  jar: CookieJar,
  url: string,
  form?: Record<string, string>,
): Promise<{ status: number; location: string | null; text: string }> {
  const response = await fetch(url, {
    method: form ? 'POST' : 'GET',
    redirect: 'manual',
    headers: {
      cookie: jar.header(),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  jar.take(response);
  return { status: response.status, location: response.headers.get('location'), text: await response.text() };
}

export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no form token in ${html.slice(0, 300)}`);
  return match[1];
}

export function absolute(location: string, base: string): string {
  return new URL(location, base).href;
}

export interface AuthorizationStart {
  url: URL;
  verifier: string;
  state: string;
}

export async function startAuthorization(
  config: client.Configuration,
  redirectUri: string,
  scope = 'openid email profile roles offline_access',
): Promise<AuthorizationStart> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    // offline_access (a refresh token) is granted only with prompt=consent (OpenID Connect Core 11).
    prompt: 'consent',
  });
  return { url, verifier, state };
}

/**
 * Follows redirects from `url` through the interaction pages: signs in with `credentials` at the sign-in
 * page and allows at the consent page, until a redirect leaves for `redirectUri`; that URL (with the code).
 * `origin` rewrites where each step is sent (another node of the cluster), `stop` ends early.
 */
export async function signIn(
  jar: CookieJar,
  url: string,
  redirectUri: string,
  credentials: { username: string; password: string },
  options: { origin?: (step: string) => string | undefined } = {},
): Promise<{ callback?: string; refused?: { status: number; text: string } }> {
  let next = url;
  let form: Record<string, string> | undefined;
  for (let step = 0; step < 12; step++) {
    const target = options.origin?.(next) ?? next;
    const answer = await browse(jar, target, form);
    form = undefined;
    if (answer.location) {
      const to = absolute(answer.location, target);
      if (to.startsWith(redirectUri)) return { callback: to };
      next = to;
      continue;
    }
    if (answer.status !== 200) return { refused: { status: answer.status, text: answer.text } };
    const action = /<form method="post" action="([^"]+)"/.exec(answer.text)?.[1];
    if (!action) throw new Error(`no form at ${target}: ${answer.text.slice(0, 300)}`);
    next = absolute(action.replaceAll('&amp;', '&'), target);
    form = action.endsWith('/login')
      ? { csrf: csrfOf(answer.text), ...credentials }
      : { csrf: csrfOf(answer.text), decision: 'allow' };
  }
  throw new Error('too many steps');
}
