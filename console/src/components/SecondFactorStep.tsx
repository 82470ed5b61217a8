import { type FormEvent, useState } from 'react';
import type { SecondFactor } from '../api';
import { Field } from './Field';
import { Notice } from './Notice';

interface SecondFactorStepProps {
  /** Sends the code; rejects with the server's answer when it was refused. */
  onSubmit: (secondFactor: SecondFactor) => Promise<void>;
  onCancel: () => void;
}

/**
 * The login's second step, shown when the server answered SECOND_FACTOR_REQUIRED: the code of the
 * authenticator app, or, after "Use a recovery code", one of the recovery codes.
 */
export function SecondFactorStep({ onSubmit, onCancel }: SecondFactorStepProps) {
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const typed = code.trim();
    setError(typed ? undefined : recovery ? 'Enter a recovery code.' : 'Enter the code your app shows.');
    if (!typed) return;
    setBusy(true);
    setFailure(undefined);
    try {
      await onSubmit(recovery ? { recoveryCode: typed } : { otp: typed.replace(/\s/g, '') });
    } catch (caught) {
      setFailure(caught);
      setCode('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Two-factor sign-in">
      <p>This account uses two-factor sign-in.</p>
      <Field
        key={recovery ? 'recovery' : 'otp'}
        label={recovery ? 'Recovery code' : 'Authentication code'}
        value={code}
        onChange={setCode}
        error={error}
        autoComplete="one-time-code"
        inputMode={recovery ? 'text' : 'numeric'}
        autoFocus
        hint={
          recovery
            ? 'One of the codes you saved when you set up the app; each works once'
            : 'The 6 digits your authenticator app shows now'
        }
      />
      <Notice error={failure} />
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Verify'}
        </button>
        <button type="button" className="link" onClick={() => setRecovery((r) => !r)}>
          {recovery ? 'Use the authenticator app' : 'Use a recovery code'}
        </button>
        <button type="button" className="link" onClick={onCancel}>
          Back
        </button>
      </div>
    </form>
  );
}
