import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { logout, onSessionExpired } from './api';
import { LoginDialog } from './components/LoginDialog';
import { LoginForm } from './components/LoginForm';
import { MaintenanceBanner, MaintenanceProvider } from './maintenance';
import { AccountPage } from './pages/AccountPage';
import { AuditPage } from './pages/AuditPage';
import { ClusterPage } from './pages/ClusterPage';
import { LockoutsPage } from './pages/LockoutsPage';
import { OidcPage } from './pages/OidcPage';
import { PasswordPolicyPage } from './pages/PasswordPolicyPage';
import { RegistryPage } from './pages/RegistryPage';
import { TenantsPage } from './pages/TenantsPage';
import { UpgradePage } from './pages/UpgradePage';
import { UserStoresPage } from './pages/UserStoresPage';
import { UsersPage } from './pages/UsersPage';
import { WebappsPage } from './pages/WebappsPage';
import { PAGES, type PageId, usePage } from './router';
import { TenantPicker } from './TenantPicker';
import type { SessionUser } from './types';

interface Pending {
  promise: Promise<void>;
  resolve: () => void;
  reject: (reason: Error) => void;
}

export function App() {
  const [user, setUser] = useState<SessionUser>();
  const [reauth, setReauth] = useState<Pending>();
  const pending = useRef<Pending | undefined>(undefined);

  // Every call that meets a 401 waits on the same dialog, then runs again.
  useEffect(() => {
    if (!user) return;
    onSessionExpired(() => {
      if (!pending.current) {
        let resolve: () => void = () => {};
        let reject: (reason: Error) => void = () => {};
        const promise = new Promise<void>((ok, fail) => {
          resolve = ok;
          reject = fail;
        });
        pending.current = { promise, resolve, reject };
        setReauth(pending.current);
      }
      return pending.current.promise;
    });
    return () => onSessionExpired(undefined);
  }, [user]);

  const endReauth = useCallback((outcome: 'resolve' | 'reject') => {
    const current = pending.current;
    pending.current = undefined;
    setReauth(undefined);
    if (outcome === 'resolve') current?.resolve();
    else current?.reject(new Error('Logged out.'));
  }, []);

  // The token is kept in memory only (api.ts), so a reload starts here, at the login form.
  if (!user) {
    return (
      <main className="login-page">
        <h1>Tessera console</h1>
        <LoginForm onLoggedIn={(session) => setUser(session.user)} />
      </main>
    );
  }
  return (
    <MaintenanceProvider>
      <Shell
        user={user}
        onEnrolled={() => setUser({ ...user, mustEnrolSecondFactor: false })}
        onLogout={async () => {
          await logout();
          setUser(undefined);
        }}
      />
      {reauth && (
        <LoginDialog
          username={user.name}
          onLoggedIn={() => endReauth('resolve')}
          onGiveUp={async () => {
            endReauth('reject');
            await logout();
            setUser(undefined);
          }}
        />
      )}
    </MaintenanceProvider>
  );
}

function Shell({
  user,
  onLogout,
  onEnrolled,
}: {
  user: SessionUser;
  onLogout: () => void;
  onEnrolled: () => void;
}) {
  // An admin who must enrol a second factor first sees the Account page only (the API refuses the rest).
  const pages = PAGES.filter((page) =>
    user.mustEnrolSecondFactor ? page.id === 'account' : user.isSuperAdmin || !page.superOnly,
  );
  const [page, go] = usePage(user.isSuperAdmin ? 'tenants' : 'userstores');
  const [tenant, setTenant] = useState(user.tenant);
  const current = pages.find((p) => p.id === page) ?? pages[0];
  const tenantPage = current && !current.superOnly && current.id !== 'account';
  const [menuOpen, setMenuOpen] = useState(false);
  const navId = useId();
  return (
    <div className="shell">
      <header>
        <span className="brand">Tessera</span>
        {/* Shown on narrow screens only (styles.css), where the page links would wrap into a tall block. */}
        <button
          type="button"
          className="menu-button"
          aria-expanded={menuOpen}
          aria-controls={navId}
          onClick={() => setMenuOpen((open) => !open)}
        >
          Menu<span className="sr-only"> of pages</span>
        </button>
        <nav aria-label="Pages" id={navId} className={menuOpen ? 'open' : undefined}>
          <ul>
            {pages.map((p) => (
              <li key={p.id}>
                <a
                  href={`#/${p.id}`}
                  aria-current={p.id === current?.id ? 'page' : undefined}
                  onClick={() => setMenuOpen(false)}
                >
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          <span className="who-name" title={user.name}>
            {user.name}
          </span>{' '}
          <button type="button" className="link" onClick={onLogout}>
            Log out
          </button>
        </span>
      </header>
      <main>
        <MaintenanceBanner />
        <div className="page-head">
          <h1>{current?.title}</h1>
          {tenantPage &&
            (user.isSuperAdmin ? (
              <TenantPicker value={tenant} onChange={setTenant} />
            ) : (
              <p className="tenant-fixed">Tenant {tenant}</p>
            ))}
        </div>
        {current && (
          <PageBody
            page={current.id}
            tenant={tenant}
            onEnrolled={onEnrolled}
            onManage={(domain) => {
              setTenant(domain);
              go('users');
            }}
            // The other pages must not go on acting on a tenant that is gone.
            onTenantDeleted={(domain) => setTenant((current) => (current === domain ? user.tenant : current))}
          />
        )}
      </main>
    </div>
  );
}

function PageBody({
  page,
  tenant,
  onManage,
  onTenantDeleted,
  onEnrolled,
}: {
  page: PageId;
  tenant: string;
  onEnrolled: () => void;
  onManage: (domain: string) => void;
  onTenantDeleted: (domain: string) => void;
}) {
  switch (page) {
    case 'tenants':
      return <TenantsPage onManage={onManage} onDeleted={onTenantDeleted} />;
    case 'userstores':
      return <UserStoresPage key={tenant} tenant={tenant} />;
    case 'users':
      return <UsersPage key={tenant} tenant={tenant} />;
    case 'webapps':
      return <WebappsPage key={tenant} tenant={tenant} />;
    case 'registry':
      return <RegistryPage key={tenant} tenant={tenant} />;
    case 'audit':
      return <AuditPage key={tenant} tenant={tenant} />;
    case 'lockouts':
      return <LockoutsPage key={tenant} tenant={tenant} />;
    case 'password-policy':
      return <PasswordPolicyPage key={tenant} tenant={tenant} />;
    case 'oidc':
      return <OidcPage key={tenant} tenant={tenant} />;
    case 'cluster':
      return <ClusterPage />;
    case 'upgrade':
      return <UpgradePage />;
    case 'account':
      return <AccountPage onEnrolled={onEnrolled} />;
  }
}
