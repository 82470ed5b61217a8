import { type FormEvent, useState } from 'react';
import { ApiError, login, logout, type SecondFactor } from '../api';
import type { Session } from '../types';
import { ChangePasswordForm } from './ChangePasswordForm';
import { Field } from './Field';
import { Notice } from './Notice';
import { SecondFactorStep } from './SecondFactorStep';

interface LoginFormProps {
  onLoggedIn: (session: Session) => void;
  /** Filled in and fixed when re-authenticating the same user after an expired session. */
  username?: string;
}

/** Name and password: `admin` for the super tenant, `admin@acme.com` for a tenant's admin. */
export function LoginForm({ onLoggedIn, username: fixedName }: LoginFormProps) {
  const [username, setUsername] = useState(fixedName ?? '');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ username?: string; password?: string }>({});
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  /** The password checked out and the account has an authenticator: its code is asked next. */
  const [codeAsked, setCodeAsked] = useState(false);
  // The password that was refused as expired: the form to change it replaces this one.
  const [expired, setExpired] = useState<string>();

  /** Logs in with the password typed (and a code, once asked); an expired password opens the change form. */
  async function finish(secondFactor: SecondFactor = {}, withPassword = password) {
    let session: Session;
    try {
      session = await login(username.trim(), withPassword, secondFactor);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'PASSWORD_EXPIRED')) throw error;
      setCodeAsked(false);
      setExpired(withPassword);
      return;
    }
    if (!session.user.isTenantAdmin) {
      await logout();
      throw new Error('This account is not an administrator of its tenant.');
    }
    onLoggedIn(session);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = {
      username: username.trim() ? undefined : 'Enter your user name.',
      password: password ? undefined : 'Enter your password.',
    };
    setErrors(found);
    if (found.username || found.password) return;
    await logIn(password);
  }

  async function logIn(withPassword: string) {
    setBusy(true);
    setFailure(undefined);
    try {
      await finish({}, withPassword);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'SECOND_FACTOR_REQUIRED') {
        // The code's step logs in with this password (a new one, after a change).
        setPassword(withPassword);
        setCodeAsked(true);
        return;
      }
      setFailure(error);
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  if (expired !== undefined)
    return (
      <ChangePasswordForm
        username={username.trim()}
        currentPassword={expired}
        onChanged={(newPassword) => {
          setExpired(undefined);
          void logIn(newPassword);
        }}
        onCancel={() => setExpired(undefined)}
      />
    );
  if (codeAsked)
    return (
      <SecondFactorStep
        onSubmit={finish}
        onCancel={() => {
          setCodeAsked(false);
          setPassword('');
        }}
      />
    );
  return (
    <form onSubmit={submit} noValidate aria-label="Log in">
      <Field
        label="User name"
        value={username}
        onChange={setUsername}
        error={errors.username}
        autoComplete="username"
        readOnly={fixedName !== undefined}
        hint="admin for the super tenant, admin@acme.com for a tenant"
      />
      <Field
        label="Password"
        type="password"
        value={password}
        onChange={setPassword}
        error={errors.password}
        autoComplete="current-password"
        autoFocus={fixedName !== undefined}
      />
      <Notice error={failure} />
      <button type="submit" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}
