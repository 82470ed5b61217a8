import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api, seg } from '../api';
import { Field } from '../components/Field';
import { Notice } from '../components/Notice';
import {
  type AccountLock,
  type AddressLock,
  fieldNamed,
  type LockoutRule,
  type LockoutSetting,
} from '../identity-types';
import { WriteButton } from '../maintenance';
import { useLoad } from '../useLoad';

const SUPER_TENANT = 'carbon.super';
const RULE_FIELDS = ['maxFailures', 'windowSeconds', 'lockSeconds', 'maxLockSeconds'] as const;
type RuleField = (typeof RULE_FIELDS)[number];
const RULE_LABELS: Record<RuleField, string> = {
  maxFailures: 'Failures that lock',
  windowSeconds: 'Counted within (s)',
  lockSeconds: 'First lock (s)',
  maxLockSeconds: 'Longest lock (s)',
};

/**
 * A tenant's locked accounts (and, for the super tenant, the locked client addresses: only the super admin
 * can pick it) with time left and an unlock each, and the tenant's lockout policy.
 */
export function LockoutsPage({ tenant }: { tenant: string }) {
  const base = `/tenants/${seg(tenant)}`;
  const accounts = useLoad(() => api<AccountLock[]>('GET', `${base}/lockouts`), [base]);
  const isServer = tenant === SUPER_TENANT;
  const addresses = useLoad(
    () => (isServer ? api<AddressLock[]>('GET', '/lockouts/addresses') : Promise.resolve([])),
    [isServer],
  );
  const now = useNow();
  const [failure, setFailure] = useState<unknown>();
  const [done, setDone] = useState<string>();

  async function unlock(what: string, path: string, reload: () => void) {
    if (!window.confirm(`Unlock ${what} and forget its failed logins?`)) return;
    setFailure(undefined);
    setDone(undefined);
    try {
      await api('DELETE', path);
      setDone(`${what} unlocked.`);
    } catch (error) {
      setFailure(error);
    } finally {
      // Also after a failure: the lock may have passed, or another admin unlocked it.
      reload();
    }
  }

  return (
    <>
      <section aria-labelledby="locked-accounts">
        <h2 id="locked-accounts">Locked accounts of {tenant}</h2>
        <Notice error={accounts.error ?? failure} success={done} />
        <LockTable
          locks={(accounts.data ?? []).map((lock) => ({ key: lock.name, lock }))}
          heading="Account"
          now={now}
          loaded={accounts.data !== undefined}
          onUnlock={(name) => unlock(`Account ${name}`, `${base}/lockouts/${seg(name)}`, accounts.reload)}
        />
        <button type="button" onClick={accounts.reload}>
          Refresh
        </button>
      </section>
      {isServer && (
        <section aria-labelledby="locked-addresses">
          <h2 id="locked-addresses">Locked client addresses (every tenant)</h2>
          <Notice error={addresses.error} />
          <LockTable
            locks={(addresses.data ?? []).map((lock) => ({ key: lock.address, lock }))}
            heading="Address"
            now={now}
            loaded={addresses.data !== undefined}
            onUnlock={(address) =>
              unlock(`Address ${address}`, `/lockouts/addresses/${seg(address)}`, addresses.reload)
            }
          />
        </section>
      )}
      <LockoutSettingForm base={base} isServer={isServer} />
    </>
  );
}

/** The time, moved on every second, so that "time left" counts down. */
function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

function timeLeft(lockedUntil: string, now: number): string {
  const seconds = Math.max(0, Math.ceil((Date.parse(lockedUntil) - now) / 1000));
  if (seconds === 0) return 'ended';
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

function LockTable({
  locks,
  heading,
  now,
  loaded,
  onUnlock,
}: {
  locks: { key: string; lock: { failures: number; lockedUntil: string; lockouts: number } }[];
  heading: string;
  now: number;
  loaded: boolean;
  onUnlock: (key: string) => void;
}) {
  return (
    <div className="table-box">
      <table>
        <thead>
          <tr>
            <th scope="col">{heading}</th>
            <th scope="col">Time left</th>
            <th scope="col">Failures</th>
            <th scope="col">Lockouts</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {locks.map(({ key, lock }) => (
            <tr key={key}>
              <td>{key}</td>
              <td>
                <time dateTime={lock.lockedUntil} title={new Date(lock.lockedUntil).toLocaleString()}>
                  {timeLeft(lock.lockedUntil, now)}
                </time>
              </td>
              <td>{lock.failures}</td>
              <td>{lock.lockouts}</td>
              <td>
                <WriteButton type="button" onClick={() => onUnlock(key)}>
                  Unlock<span className="sr-only"> {key}</span>
                </WriteButton>
              </td>
            </tr>
          ))}
          {loaded && locks.length === 0 && (
            <tr>
              <td colSpan={5}>Nothing is locked.</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

type RuleDraft = Record<RuleField, string>;
const draftOf = (rule: LockoutRule): RuleDraft =>
  Object.fromEntries(RULE_FIELDS.map((field) => [field, String(rule[field])])) as RuleDraft;

const SOURCE_TEXT = {
  tenant: "this tenant's own",
  server: "the server's (carbon.super's)",
  default: 'the built-in defaults',
};

/** The tenant's account rule (and the server's address rule on the super tenant); a 400 shown at its field. */
function LockoutSettingForm({ base, isServer }: { base: string; isServer: boolean }) {
  const route = `${base}/settings/lockout`;
  const current = useLoad(() => api<LockoutSetting>('GET', route), [route]);
  const [drafts, setDrafts] = useState<{ account: RuleDraft; address?: RuleDraft }>();
  const [errors, setErrors] = useState<Partial<Record<`${'account' | 'address'}.${RuleField}`, string>>>({});
  const [failure, setFailure] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  const shown =
    drafts ??
    (current.data && {
      account: draftOf(current.data.account),
      address: current.data.address && draftOf(current.data.address),
    });

  async function save(event: FormEvent) {
    event.preventDefault();
    if (!shown) return;
    const found: typeof errors = {};
    const body: Partial<Record<'account' | 'address', Partial<LockoutRule>>> = {};
    for (const kind of ['account', 'address'] as const) {
      const draft = shown[kind];
      if (!draft) continue;
      body[kind] = {};
      for (const field of RULE_FIELDS) {
        const value = Number(draft[field]);
        if (draft[field].trim() === '' || !Number.isInteger(value))
          found[`${kind}.${field}`] = 'A whole number.';
        else body[kind][field] = value;
      }
    }
    setErrors(found);
    setFailure(undefined);
    setSaved(undefined);
    if (Object.keys(found).length > 0) return;
    try {
      await api<LockoutSetting>('PUT', route, { body });
      setDrafts(undefined);
      setSaved('Lockout policy saved: it holds at the next login on every node.');
      current.reload();
    } catch (error) {
      // The API names the rule and field it refused: show it there.
      const field =
        error instanceof ApiError && error.status === 400 && fieldNamed(error.message, RULE_FIELDS);
      if (field) {
        const kind = /\baddress\b/.test((error as ApiError).message) && shown.address ? 'address' : 'account';
        setErrors({ [`${kind}.${field}`]: (error as ApiError).message });
      } else setFailure(error);
    }
  }

  const edit = (kind: 'account' | 'address', field: RuleField, value: string) => {
    if (!shown) return;
    const rule = shown[kind];
    if (rule) setDrafts({ ...shown, [kind]: { ...rule, [field]: value } });
  };

  return (
    <section aria-labelledby="lockout-policy">
      <h2 id="lockout-policy">Lockout policy</h2>
      <Notice error={current.error ?? failure} success={saved} />
      {current.data && <p>In force: {SOURCE_TEXT[current.data.source]}.</p>}
      {shown && (
        <form onSubmit={save} noValidate className="grid-form" aria-label="Lockout policy">
          {(['account', 'address'] as const).map((kind) => {
            const rule = shown[kind];
            if (!rule || (kind === 'address' && !isServer)) return null;
            return (
              <fieldset key={kind}>
                <legend>{kind === 'account' ? 'Per account' : 'Per client address (every tenant)'}</legend>
                {RULE_FIELDS.map((field) => (
                  <Field
                    key={field}
                    label={`${RULE_LABELS[field]} (${kind})`}
                    inputMode="numeric"
                    value={rule[field]}
                    onChange={(value) => edit(kind, field, value)}
                    error={errors[`${kind}.${field}`]}
                  />
                ))}
              </fieldset>
            );
          })}
          <div className="buttons">
            <WriteButton type="submit">Save lockout policy</WriteButton>
          </div>
        </form>
      )}
    </section>
  );
}
