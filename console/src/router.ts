import { useEffect, useState } from 'react';

export const PAGES = [
  { id: 'tenants', title: 'Tenants', superOnly: true },
  { id: 'userstores', title: 'User stores', superOnly: false },
  { id: 'users', title: 'Users and roles', superOnly: false },
  { id: 'webapps', title: 'Web applications', superOnly: false },
  { id: 'registry', title: 'Registry', superOnly: false },
  { id: 'audit', title: 'Audit', superOnly: false },
  { id: 'lockouts', title: 'Lockouts', superOnly: false },
  { id: 'password-policy', title: 'Password policy', superOnly: false },
  { id: 'oidc', title: 'OpenID Connect', superOnly: false },
  { id: 'cluster', title: 'Cluster', superOnly: true },
  { id: 'upgrade', title: 'Upgrade', superOnly: true },
  { id: 'account', title: 'Account', superOnly: false },
] as const;

export type PageId = (typeof PAGES)[number]['id'];

function pageFromHash(): PageId | undefined {
  const id = window.location.hash.replace(/^#\/?/, '');
  return PAGES.find((page) => page.id === id)?.id;
}

/** The page named by the URL's hash (`#/users`), so that pages can be bookmarked and reloaded. */
export function usePage(fallback: PageId): [PageId, (page: PageId) => void] {
  const [page, setPage] = useState<PageId>(pageFromHash() ?? fallback);
  useEffect(() => {
    const follow = () => setPage(pageFromHash() ?? fallback);
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, [fallback]);
  return [page, (next) => (window.location.hash = `#/${next}`)];
}
