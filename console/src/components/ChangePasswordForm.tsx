import { type FormEvent, useState } from 'react';
import { ApiError, changePassword } from '../api';
import { passwordProblem } from '../validation';
import { Field } from './Field';
import { Notice } from './Notice';

interface ChangePasswordFormProps {
  username: string;
  /** The password just refused as expired, so that the user need not type it again. */
  currentPassword: string;
  onChanged: (newPassword: string) => void;
  onCancel: () => void;
}

/**
 * Shown by the login form when the password has expired (403 PASSWORD_EXPIRED): a new one, checked by
 * the tenant's password policy on the server, whose refusal is shown at the field.
 */
export function ChangePasswordForm({
  username,
  currentPassword,
  onChanged,
  onCancel,
}: ChangePasswordFormProps) {
  const [current, setCurrent] = useState(currentPassword);
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [errors, setErrors] = useState<{ current?: string; next?: string; again?: string }>({});
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = {
      current: current ? undefined : 'Enter your current password.',
      next: passwordProblem(next),
      again: next === again ? undefined : 'The two new passwords differ.',
    };
    setErrors(found);
    if (found.current || found.next || found.again) return;
    setBusy(true);
    setFailure(undefined);
    try {
      await changePassword(username, current, next);
      onChanged(next);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'PASSWORD_POLICY') setErrors({ next: error.message });
      else if (error instanceof ApiError && error.status === 401)
        setErrors({ current: 'This is not your current password.' });
      else setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Change your password">
      <p className="notice error" role="alert">
        The password of {username} has expired. Choose a new one to log in.
      </p>
      <Field
        label="Current password"
        type="password"
        value={current}
        onChange={setCurrent}
        error={errors.current}
        autoComplete="current-password"
      />
      <Field
        label="New password"
        type="password"
        value={next}
        onChange={setNext}
        error={errors.next}
        autoComplete="new-password"
        autoFocus
      />
      <Field
        label="New password again"
        type="password"
        value={again}
        onChange={setAgain}
        error={errors.again}
        autoComplete="new-password"
      />
      <Notice error={failure} />
      <button type="submit" disabled={busy}>
        {busy ? 'Changing…' : 'Change password and log in'}
      </button>{' '}
      <button type="button" className="link" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
