import { type FormEvent, useState } from 'react';
import { ApiError, api, seg } from '../api';
import { Checkbox, Field, Select } from '../components/Field';
import { Notice } from '../components/Notice';
import { fieldNamed, type PasswordPolicy, type PasswordPolicyAnswer } from '../identity-types';
import { WriteButton } from '../maintenance';
import { useLoad } from '../useLoad';

const FIELDS = ['minLength', 'requiredClasses', 'refuseCommon', 'refuseUsername', 'maxAgeDays'] as const;
type PolicyField = (typeof FIELDS)[number];

interface Draft {
  minLength: string;
  requiredClasses: string;
  refuseCommon: boolean;
  refuseUsername: boolean;
  /** Empty: no maximum age. */
  maxAgeDays: string;
}

const draftOf = (policy: PasswordPolicy): Draft => ({
  minLength: String(policy.minLength),
  requiredClasses: String(policy.requiredClasses),
  refuseCommon: policy.refuseCommon,
  refuseUsername: policy.refuseUsername,
  maxAgeDays: policy.maxAgeDays === null ? '' : String(policy.maxAgeDays),
});

const FROM_TEXT = {
  tenant: "this tenant's own",
  server: "the server's (carbon.super's)",
  default: 'the built-in default',
};

/** The tenant's password policy: what new passwords must be, and how long PRIMARY passwords last. */
export function PasswordPolicyPage({ tenant }: { tenant: string }) {
  const route = `/tenants/${seg(tenant)}/settings/password-policy`;
  const current = useLoad(() => api<PasswordPolicyAnswer>('GET', route), [route]);
  const [draft, setDraft] = useState<Draft>();
  const [errors, setErrors] = useState<Partial<Record<PolicyField, string>>>({});
  const [failure, setFailure] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  const shown = draft ?? (current.data && draftOf(current.data.policy));

  async function send(method: 'PUT' | 'DELETE') {
    if (!shown) return;
    const found: typeof errors = {};
    const minLength = Number(shown.minLength);
    if (!Number.isInteger(minLength) || shown.minLength.trim() === '') found.minLength = 'A whole number.';
    const maxAge = shown.maxAgeDays.trim() === '' ? null : Number(shown.maxAgeDays);
    if (maxAge !== null && !Number.isInteger(maxAge))
      found.maxAgeDays = 'Whole days, or empty for no maximum age.';
    setErrors(method === 'PUT' ? found : {});
    setFailure(undefined);
    setSaved(undefined);
    if (method === 'PUT' && Object.keys(found).length > 0) return;
    const body = {
      minLength,
      requiredClasses: Number(shown.requiredClasses),
      refuseCommon: shown.refuseCommon,
      refuseUsername: shown.refuseUsername,
      maxAgeDays: maxAge,
    };
    try {
      await api<PasswordPolicyAnswer>(method, route, method === 'PUT' ? { body } : {});
      setDraft(undefined);
      setSaved(
        method === 'PUT'
          ? 'Password policy saved: it applies to passwords set from now on.'
          : "The tenant's own policy is removed.",
      );
      current.reload();
    } catch (error) {
      // The API names the rule it refused: show its message next to that field.
      const field = error instanceof ApiError && error.status === 400 && fieldNamed(error.message, FIELDS);
      if (field) setErrors({ [field]: (error as ApiError).message });
      else setFailure(error);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    void send('PUT');
  }

  const edit = (change: Partial<Draft>) => shown && setDraft({ ...shown, ...change });
  return (
    <section aria-labelledby="password-policy">
      <h2 id="password-policy">Password policy of {tenant}</h2>
      <Notice error={current.error ?? failure} success={saved} />
      {current.data && <p>In force: {FROM_TEXT[current.data.from]}.</p>}
      {shown && (
        <form onSubmit={submit} noValidate className="grid-form" aria-label="Password policy">
          <Field
            label="Minimum length"
            inputMode="numeric"
            value={shown.minLength}
            onChange={(minLength) => edit({ minLength })}
            error={errors.minLength}
            hint="Characters, 8 to 128"
          />
          <Select
            label="Character classes required"
            value={shown.requiredClasses}
            onChange={(requiredClasses) => edit({ requiredClasses })}
            options={['0', '1', '2', '3', '4'].map((value) => ({
              value,
              label: value === '0' ? 'None' : `${value} of lower, upper, digits, others`,
            }))}
          />
          <Checkbox
            label="Refuse the most common passwords"
            checked={shown.refuseCommon}
            onChange={(refuseCommon) => edit({ refuseCommon })}
          />
          <Checkbox
            label="Refuse the user's name as a password"
            checked={shown.refuseUsername}
            onChange={(refuseUsername) => edit({ refuseUsername })}
          />
          <Field
            label="Maximum age (days)"
            inputMode="numeric"
            value={shown.maxAgeDays}
            onChange={(maxAgeDays) => edit({ maxAgeDays })}
            error={errors.maxAgeDays}
            hint="Empty: passwords never expire. PRIMARY store only; users then change theirs at login."
          />
          {(errors.requiredClasses || errors.refuseCommon || errors.refuseUsername) && (
            <p className="field-error" role="alert">
              {errors.requiredClasses ?? errors.refuseCommon ?? errors.refuseUsername}
            </p>
          )}
          <div className="buttons">
            <WriteButton type="submit">Save password policy</WriteButton>
            {current.data?.from === 'tenant' && (
              <WriteButton type="button" onClick={() => void send('DELETE')}>
                Use the server's policy
              </WriteButton>
            )}
          </div>
        </form>
      )}
    </section>
  );
}
