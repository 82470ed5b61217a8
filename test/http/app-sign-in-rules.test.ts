import { describe, expect, it } from 'vitest';
import { wantsSignInPage } from '../../src/http/plugins/app-signin/gate.js';
import { escapeHtml } from '../../src/http/plugins/app-signin/page.js';
import { safeReturnPath } from '../../src/http/plugins/app-signin/return-path.js';
import { cookieValues, signInScope } from '../../src/http/plugins/app-signin/scope.js';

describe('the return path after signing in', () => {
  const acme = signInScope('acme.com');
  const superTenant = signInScope(undefined);

  it("takes a path to one of the tenant's apps, query and fragment kept", () => {
    for (const path of ['/t/acme.com/shop/', '/t/acme.com/shop', '/t/acme.com/shop/a/b?x=1&y=%2F#top'])
      expect(safeReturnPath(path, acme), path).toBe(path);
    expect(safeReturnPath('/hub/page?x=1', superTenant)).toBe('/hub/page?x=1');
  });

  it('refuses anything a browser could take off the site or into another tenant', () => {
    for (const path of [
      undefined,
      '',
      'https://evil.example/t/acme.com/shop/',
      'javascript:alert(1)',
      '//evil.example/',
      '/\\evil.example/',
      '/t/acme.com\\..\\beta.org/x',
      '/\t/evil.example/',
      '/t/acme.com/\n/x',
      't/acme.com/shop/',
      '/t/beta.org/shop/',
      '/t/acme.community/shop/',
      '/t/acme.com/',
      '/t/acme.com/../beta.org/shop/',
      '/t/acme.com/%2e%2E/beta.org/shop/',
      '/t/acme.com/shop/%2F..%2F',
      '/t/acme.com/shop/%zz',
      '/t/acme.com/.tessera/sign-out',
      `/t/acme.com/shop/${'a'.repeat(3000)}`,
    ])
      expect(safeReturnPath(path, acme), String(path)).toBeUndefined();
    for (const path of [
      '/api/v1/tenants',
      '/console/',
      '/t/acme.com/shop/',
      '/.tessera/sign-in',
      '/HEALTHZ',
      '/',
    ])
      expect(safeReturnPath(path, superTenant), path).toBeUndefined();
  });
});

describe('the session cookie and the sign-in redirect', () => {
  it('reads every value of a cookie name, trimmed, at most four', () => {
    expect(
      cookieValues('a=1; tessera_app_session=x ;b=2;tessera_app_session=y', 'tessera_app_session'),
    ).toEqual(['x', 'y']);
    expect(cookieValues(undefined, 'tessera_app_session')).toEqual([]);
    expect(cookieValues('tessera_app_session_x=1; tessera_app_session=', 'tessera_app_session')).toEqual([]);
    expect(cookieValues(Array(9).fill('s=1').join('; '), 's')).toHaveLength(4);
  });

  it('sends only a browser navigation to the sign-in page', () => {
    const html = { accept: 'text/html,*/*' };
    expect(wantsSignInPage('GET', html)).toBe(true);
    expect(wantsSignInPage('HEAD', html)).toBe(true);
    expect(wantsSignInPage('POST', html)).toBe(false);
    expect(wantsSignInPage('GET', { accept: 'application/json' })).toBe(false);
    expect(wantsSignInPage('GET', {})).toBe(false);
    expect(wantsSignInPage('GET', { ...html, authorization: 'Basic eDp5' })).toBe(false);
    expect(wantsSignInPage('GET', { ...html, upgrade: 'websocket' })).toBe(false);
  });

  it('escapes what the pages echo', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe(
      '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#96;',
    );
  });
});
