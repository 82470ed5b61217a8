/**
 * The HTML pages of a tenant's OpenID Connect provider: sign-in, consent, sign-out and errors. Small, with no
 * script and no outside resource (the security headers' CSP allows none), and every value escaped.
 */

export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE =
  'body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}main{max-width:22rem;margin:4rem auto;' +
  'background:#fff;padding:1.5rem 2rem;border-radius:6px;box-shadow:0 1px 3px #0003}h1{font-size:1.3rem}' +
  'label{display:block;margin:.8rem 0 .2rem}input{width:100%;box-sizing:border-box;padding:.45rem}' +
  'button{margin:1rem .5rem 0 0;padding:.5rem 1rem}.error{color:#a00}ul{padding-left:1.2rem}';

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

export interface SignInPage {
  action: string;
  csrf: string;
  tenant: string;
  client: string;
  username?: string;
  error?: string;
}

export function signInPage(view: SignInPage): string {
  return page(
    'Sign in',
    `<h1>Sign in to ${escapeHtml(view.client)}</h1><p>with your account at ${escapeHtml(view.tenant)}</p>` +
      (view.error ? `<p class="error" role="alert">${escapeHtml(view.error)}</p>` : '') +
      `<form method="post" action="${escapeHtml(view.action)}" autocomplete="on">` +
      `<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">` +
      `<label for="username">User name</label><input id="username" name="username" required autofocus value="${escapeHtml(view.username ?? '')}">` +
      '<label for="password">Password</label><input id="password" name="password" type="password" required autocomplete="current-password">' +
      '<button type="submit">Sign in</button></form>',
  );
}

export interface SecondFactorPage {
  action: string;
  csrf: string;
  tenant: string;
  client: string;
  /** The sealed pending sign-in (pending-sign-in.ts), sent back with the code. */
  pending: string;
  error?: string;
}

/** The second step for an account with an authenticator: its code, or one of its recovery codes. */
export function secondFactorPage(view: SecondFactorPage): string {
  return page(
    'Two-factor sign-in',
    `<h1>Sign in to ${escapeHtml(view.client)}</h1><p>with your account at ${escapeHtml(view.tenant)}</p>` +
      (view.error
        ? `<p class="error" role="alert">${escapeHtml(view.error)}</p>`
        : '<p>Enter the 6-digit code your authenticator app shows.</p>') +
      `<form method="post" action="${escapeHtml(view.action)}">` +
      `<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">` +
      `<input type="hidden" name="pending" value="${escapeHtml(view.pending)}">` +
      '<label for="otp">Code from your authenticator app</label><input id="otp" name="otp" inputmode="numeric" pattern="[0-9 ]*" maxlength="8" autocomplete="one-time-code" autofocus>' +
      '<label for="recovery">Or one of your recovery codes</label><input id="recovery" name="recovery" autocomplete="off" maxlength="64">' +
      '<button type="submit">Verify</button></form>',
  );
}

export interface ConsentPage {
  action: string;
  csrf: string;
  client: string;
  user: string;
  scopes: string[];
}

export function consentPage(view: ConsentPage): string {
  const items = view.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('');
  return page(
    'Allow access',
    `<h1>${escapeHtml(view.client)} asks to know</h1><ul>${items}</ul><p>Signed in as ${escapeHtml(view.user)}.</p>` +
      `<form method="post" action="${escapeHtml(view.action)}"><input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">` +
      '<button type="submit" name="decision" value="allow">Allow</button>' +
      '<button type="submit" name="decision" value="deny">Deny</button></form>',
  );
}

/** oidc-provider's sign-out question: `form` is its own (hidden fields with its xsrf token). */
export function logoutPage(form: string, client: string | undefined): string {
  return page(
    'Sign out',
    `<h1>Sign out${client ? ` of ${escapeHtml(client)}` : ''}?</h1>${form}` +
      '<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>' +
      '<button type="submit" form="op.logoutForm">Stay signed in</button>',
  );
}

export function signedOutPage(): string {
  return page('Signed out', '<h1>You are signed out.</h1>');
}

export function errorPage(title: string, fields: Record<string, unknown>): string {
  const lines = Object.entries(fields)
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ${escapeHtml(value)}</p>`)
    .join('');
  return page(title, `<h1>${escapeHtml(title)}</h1>${lines}`);
}
