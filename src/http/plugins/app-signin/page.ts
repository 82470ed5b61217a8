import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** What one of the sign-in pages shows. */
export interface PageContent {
  title: string;
  /** The tenant, shown so that users see where they sign in. */
  tenant: string;
  /** A sentence above the form (an error, the lockout's wait, "you are signed out"). */
  message?: string;
  /** Whether `message` reports a problem (shown as an alert). */
  problem?: boolean;
  form?: {
    action: string;
    csrf: string;
    /** Hidden `return` field. */
    returnTo?: string;
    /** With the user name and password fields, `username` prefilled. */
    credentials?: { username: string };
    /** With the code field (and a recovery code's), carrying the sealed pending sign-in. */
    secondFactor?: { pending: string };
    submit: string;
  };
  /** A link under the form: [text, href]. */
  link?: [string, string];
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;justify-content:center}
main{background:#fff;margin-top:10vh;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;width:20rem}
h1{font-size:1.3rem;margin:0 0 .2rem}p.tenant{color:#555;margin:0 0 1rem}label{display:block;margin:.6rem 0 .2rem}
input{width:100%;box-sizing:border-box;padding:.45rem;font:inherit}button{margin-top:1rem;padding:.5rem 1rem;font:inherit}
p.problem{color:#a00}`;

/** Text for HTML: every character with a meaning in markup or attributes escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The page's own policy: nothing loads but its one inline style (by nonce), no script at all, forms post
 * only to this origin, and no other site may frame it (a framed sign-in form invites clickjacking).
 */
function pagePolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function renderPage(content: PageContent, nonce: string): string {
  const e = escapeHtml;
  const lines = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(content.title)}</title><style nonce="${nonce}">${STYLE}</style></head>`,
    `<body><main><h1>${e(content.title)}</h1><p class="tenant">${e(content.tenant)}</p>`,
  ];
  if (content.message)
    lines.push(
      `<p${content.problem ? ' class="problem" role="alert"' : ''} id="message">${e(content.message)}</p>`,
    );
  const form = content.form;
  if (form) {
    lines.push(`<form method="post" action="${e(form.action)}">`);
    lines.push(`<input type="hidden" name="csrf" value="${e(form.csrf)}">`);
    if (form.returnTo !== undefined)
      lines.push(`<input type="hidden" name="return" value="${e(form.returnTo)}">`);
    if (form.credentials) {
      lines.push(
        '<label for="username">User name</label>',
        `<input id="username" name="username" autocomplete="username" required autofocus value="${e(form.credentials.username)}">`,
        '<label for="password">Password</label>',
        '<input id="password" name="password" type="password" autocomplete="current-password" required>',
      );
    }
    if (form.secondFactor) {
      lines.push(
        `<input type="hidden" name="pending" value="${e(form.secondFactor.pending)}">`,
        '<label for="otp">Code from your authenticator app</label>',
        '<input id="otp" name="otp" inputmode="numeric" pattern="[0-9 ]*" maxlength="8" autocomplete="one-time-code" autofocus>',
        '<label for="recovery">Or one of your recovery codes</label>',
        '<input id="recovery" name="recovery" autocomplete="off" maxlength="64">',
      );
    }
    lines.push(`<button type="submit">${e(form.submit)}</button></form>`);
  }
  if (content.link) lines.push(`<p><a href="${e(content.link[1])}">${e(content.link[0])}</a></p>`);
  lines.push('</main></body></html>');
  return lines.join('\n');
}

/** Sends a page with its policy; never cached (it carries a CSRF token, and says who is signed in). */
export function sendPage(reply: FastifyReply, status: number, content: PageContent): FastifyReply {
  const nonce = randomBytes(16).toString('base64');
  return reply
    .code(status)
    .header('content-security-policy', pagePolicy(nonce))
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'same-origin')
    .type('text/html; charset=utf-8')
    .send(renderPage(content, nonce));
}
