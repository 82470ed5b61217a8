import { type FormEvent, useState } from 'react';
import { api } from '../api';
import { Field } from '../components/Field';
import { Notice } from '../components/Notice';
import type { TotpEnrolment, TotpStatus } from '../types';
import { useLoad } from '../useLoad';

/**
 * The signed-in admin's own account: two-factor sign-in with an authenticator app (README, Two-factor
 * sign-in). Set up (secret shown as text and as an otpauth URI, confirmed with a first code), the recovery
 * codes shown once, new recovery codes, turning it off.
 */
export function AccountPage({ onEnrolled }: { onEnrolled: () => void }) {
  const status = useLoad(() => api<TotpStatus>('GET', '/me/totp'), []);
  const [enrolment, setEnrolment] = useState<TotpEnrolment>();
  const [recoveryCodes, setRecoveryCodes] = useState<string[]>();
  const [failure, setFailure] = useState<unknown>();

  async function run(action: () => Promise<void>) {
    setFailure(undefined);
    try {
      await action();
    } catch (error) {
      setFailure(error);
    }
  }

  const state = status.data?.state;
  return (
    <section aria-labelledby="two-factor">
      <h2 id="two-factor">Two-factor sign-in</h2>
      {status.data?.requiredForAdmins && state !== 'active' && (
        <p className="notice error" role="alert">
          Your tenant requires admins to use two-factor sign-in: set up an authenticator app to use the
          console.
        </p>
      )}
      <Notice error={status.error ?? failure} />
      {recoveryCodes && (
        <RecoveryCodes
          codes={recoveryCodes}
          onSaved={() => {
            setRecoveryCodes(undefined);
            status.reload();
            // Only now: an admin who had to enrol gets the other pages, and this page must not go before.
            onEnrolled();
          }}
        />
      )}
      {!recoveryCodes && state === 'active' && (
        <ActiveAuthenticator
          left={status.data?.recoveryCodesLeft ?? 0}
          onRecoveryCodes={(codes) => setRecoveryCodes(codes)}
          onDisabled={() => status.reload()}
        />
      )}
      {!recoveryCodes && state !== undefined && state !== 'active' && !enrolment && (
        <>
          <p>Sign in with a code from an authenticator app on your phone as well as your password.</p>
          <button
            type="button"
            onClick={() => run(async () => setEnrolment(await api<TotpEnrolment>('POST', '/me/totp')))}
          >
            Set up an authenticator app
          </button>
        </>
      )}
      {!recoveryCodes && enrolment && (
        <ConfirmEnrolment
          enrolment={enrolment}
          onConfirmed={(codes) => {
            setEnrolment(undefined);
            setRecoveryCodes(codes);
          }}
        />
      )}
    </section>
  );
}

function ConfirmEnrolment({
  enrolment,
  onConfirmed,
}: {
  enrolment: TotpEnrolment;
  onConfirmed: (codes: string[]) => void;
}) {
  const [code, setCode] = useState('');
  const [failure, setFailure] = useState<unknown>();
  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(undefined);
    try {
      const answer = await api<{ recoveryCodes: string[] }>('POST', '/me/totp/confirm', {
        body: { otp: code.replace(/\s/g, '') },
      });
      onConfirmed(answer.recoveryCodes);
    } catch (error) {
      setFailure(error);
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Confirm the authenticator">
      <p>
        Add this key to your authenticator app (type it, or paste the link into an app that takes one), then
        enter the code it shows.
      </p>
      <dl>
        <dt>Secret key</dt>
        <dd className="mono" data-testid="totp-secret">
          {enrolment.secret}
        </dd>
        <dt>otpauth link</dt>
        <dd className="mono" style={{ overflowWrap: 'anywhere' }}>
          {enrolment.uri}
        </dd>
      </dl>
      <Field
        label="Code from the app"
        value={code}
        onChange={setCode}
        inputMode="numeric"
        autoComplete="one-time-code"
      />
      <Notice error={failure} />
      <button type="submit">Turn on two-factor sign-in</button>
    </form>
  );
}

function RecoveryCodes({ codes, onSaved }: { codes: string[]; onSaved: () => void }) {
  return (
    <section aria-label="Recovery codes">
      <p>
        Keep these recovery codes somewhere safe: each signs you in once if you lose your phone. They are not
        shown again.
      </p>
      <ul className="mono">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <button type="button" onClick={onSaved}>
        I have saved these codes
      </button>
    </section>
  );
}

function ActiveAuthenticator({
  left,
  onRecoveryCodes,
  onDisabled,
}: {
  left: number;
  onRecoveryCodes: (codes: string[]) => void;
  onDisabled: () => void;
}) {
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [failure, setFailure] = useState<unknown>();
  async function act(action: () => Promise<void>) {
    setFailure(undefined);
    try {
      await action();
    } catch (error) {
      setFailure(error);
    }
  }
  const otp = code.replace(/\s/g, '');
  return (
    <div>
      <p>
        Two-factor sign-in is on. {left} recovery code{left === 1 ? '' : 's'} left.
      </p>
      <Field label="Code from the app" value={code} onChange={setCode} inputMode="numeric" />
      <Field
        label="Or your password (to turn it off)"
        type="password"
        value={password}
        onChange={setPassword}
      />
      <Notice error={failure} />
      <div className="actions">
        <button
          type="button"
          onClick={() =>
            act(async () => {
              const answer = await api<{ recoveryCodes: string[] }>('POST', '/me/totp/recovery-codes', {
                body: { otp },
              });
              onRecoveryCodes(answer.recoveryCodes);
            })
          }
        >
          New recovery codes
        </button>
        <button
          type="button"
          onClick={() =>
            act(async () => {
              await api('DELETE', '/me/totp', { body: otp ? { otp } : { password } });
              onDisabled();
            })
          }
        >
          Turn off two-factor sign-in
        </button>
      </div>
    </div>
  );
}
