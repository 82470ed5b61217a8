import { useEffect, useRef } from 'react';
import type { Session } from '../types';
import { LoginForm } from './LoginForm';

/**
 * The login form over the page when the session expired: the page underneath stays mounted, so the form
 * the user was filling keeps what they typed, and the call that failed is repeated after the login.
 */
export function LoginDialog({
  username,
  onLoggedIn,
  onGiveUp,
}: {
  username: string;
  onLoggedIn: (session: Session) => void;
  onGiveUp: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      aria-labelledby="session-expired-title"
      onCancel={(event) => event.preventDefault()}
      className="login-dialog"
    >
      <h2 id="session-expired-title">Your session expired</h2>
      <p>Log in again to carry on; what you were doing is kept.</p>
      <LoginForm username={username} onLoggedIn={onLoggedIn} />
      <button type="button" className="link" onClick={onGiveUp}>
        Log in as someone else
      </button>
    </dialog>
  );
}
