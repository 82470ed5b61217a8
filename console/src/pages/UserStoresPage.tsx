import { type FormEvent, useState } from 'react';
import { api, seg } from '../api';
import { Checkbox, Field, Select } from '../components/Field';
import { Notice } from '../components/Notice';
import { WriteButton } from '../maintenance';
import type { NewUserStore, UserStore } from '../types';
import { useLoad } from '../useLoad';
import { type Errors, required, storeDomainProblem, valid } from '../validation';

/** The tenant's user stores, and a form to add a JDBC or LDAP one after testing its connection. */
export function UserStoresPage({ tenant }: { tenant: string }) {
  const base = `/tenants/${seg(tenant)}/userstores`;
  const stores = useLoad(() => api<{ userstores: UserStore[] }>('GET', base), [base]);
  const [failure, setFailure] = useState<unknown>();

  async function remove(store: UserStore) {
    if (!window.confirm(`Remove user store ${store.domain}? Its database is left as it is.`)) return;
    try {
      await api('DELETE', `${base}/${seg(store.domain)}`);
      stores.reload();
    } catch (error) {
      setFailure(error);
    }
  }

  return (
    <>
      <section aria-labelledby="stores-list">
        <h2 id="stores-list">User stores of {tenant}</h2>
        <Notice error={stores.error ?? failure} />
        <div className="table-box">
          <table>
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">Type</th>
                <th scope="col">Database or directory</th>
                <th scope="col">Access</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {stores.data?.userstores.map((store) => (
                <tr key={store.domain}>
                  <td>
                    {store.domain}
                    {store.description && <div className="muted">{store.description}</div>}
                  </td>
                  <td>{store.type}</td>
                  <td className="mono">{store.url ?? 'server database'}</td>
                  <td>{store.readOnly ? 'read-only' : 'read-write'}</td>
                  <td>
                    <span className={store.status === 'up' ? 'badge ok' : 'badge bad'}>{store.status}</span>
                    {store.error && <div className="muted">{store.error}</div>}
                  </td>
                  <td>
                    {store.type !== 'primary' && (
                      <WriteButton type="button" onClick={() => remove(store)}>
                        Remove<span className="sr-only"> {store.domain}</span>
                      </WriteButton>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <AddStore base={base} onAdded={stores.reload} />
    </>
  );
}

type StoreField = 'domain' | 'url' | 'bindDn' | 'bindPassword' | 'userSearchBase';

function AddStore({ base, onAdded }: { base: string; onAdded: () => void }) {
  const [domain, setDomain] = useState('');
  const [type, setType] = useState<'jdbc' | 'ldap'>('jdbc');
  const [url, setUrl] = useState('');
  const [readOnly, setReadOnly] = useState(false);
  const [description, setDescription] = useState('');
  const [bindDn, setBindDn] = useState('');
  const [bindPassword, setBindPassword] = useState('');
  const [userSearchBase, setUserSearchBase] = useState('');
  const [groupSearchBase, setGroupSearchBase] = useState('');
  const [errors, setErrors] = useState<Errors<StoreField>>({});
  const [failure, setFailure] = useState<unknown>();
  const [success, setSuccess] = useState<string>();
  const [busy, setBusy] = useState(false);

  function definition(): NewUserStore | undefined {
    const found: Errors<StoreField> = {
      domain: storeDomainProblem(domain.trim()),
      url: required(url, type === 'jdbc' ? 'the database URL' : 'the LDAP URL'),
      bindDn: type === 'ldap' ? required(bindDn, 'the bind DN') : undefined,
      bindPassword: type === 'ldap' ? required(bindPassword, 'the bind password') : undefined,
      userSearchBase: type === 'ldap' ? required(userSearchBase, 'the user search base') : undefined,
    };
    setErrors(found);
    if (!valid(found)) return undefined;
    return {
      domain: domain.trim().toUpperCase(),
      type,
      url: url.trim(),
      readOnly,
      description: description.trim() || undefined,
      ldap:
        type === 'ldap'
          ? { bindDn, bindPassword, userSearchBase, groupSearchBase: groupSearchBase || userSearchBase }
          : undefined,
    };
  }

  async function run(action: () => Promise<string>) {
    setFailure(undefined);
    setSuccess(undefined);
    setBusy(true);
    try {
      setSuccess(await action());
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  function testConnection() {
    const body = definition();
    if (!body) return;
    void run(async () => {
      const result = await api<{ ok: boolean; error?: string }>('POST', `${base}/test`, { body });
      if (!result.ok) throw new Error(`Connection failed: ${result.error ?? 'no reason given'}`);
      return `Connection to ${body.domain} works.`;
    });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    const body = definition();
    if (!body) return;
    void run(async () => {
      const store = await api<UserStore>('POST', base, { body });
      setDomain('');
      setUrl('');
      setDescription('');
      setBindPassword('');
      onAdded();
      return `User store ${store.domain} added (${store.status}).`;
    });
  }

  return (
    <section aria-labelledby="store-add">
      <h2 id="store-add">Add a user store</h2>
      <form onSubmit={submit} noValidate className="grid-form">
        <Field
          label="Store domain"
          value={domain}
          onChange={setDomain}
          error={errors.domain}
          placeholder="PARTNERS"
        />
        <Select
          label="Type"
          value={type}
          onChange={(value) => setType(value === 'ldap' ? 'ldap' : 'jdbc')}
          options={[
            { value: 'jdbc', label: 'JDBC database' },
            { value: 'ldap', label: 'LDAP directory' },
          ]}
        />
        <Field
          label={type === 'jdbc' ? 'Database URL' : 'LDAP URL'}
          value={url}
          onChange={setUrl}
          error={errors.url}
          placeholder={type === 'jdbc' ? 'sqlite:repository/database/partners.db' : 'ldap://127.0.0.1:389'}
        />
        <Field label="Description" value={description} onChange={setDescription} />
        {type === 'ldap' && (
          <>
            <Field label="Bind DN" value={bindDn} onChange={setBindDn} error={errors.bindDn} />
            <Field
              label="Bind password"
              type="password"
              value={bindPassword}
              onChange={setBindPassword}
              error={errors.bindPassword}
            />
            <Field
              label="User search base"
              value={userSearchBase}
              onChange={setUserSearchBase}
              error={errors.userSearchBase}
              placeholder="ou=people,dc=example,dc=com"
            />
            <Field
              label="Group search base"
              value={groupSearchBase}
              onChange={setGroupSearchBase}
              placeholder="ou=groups,dc=example,dc=com"
            />
          </>
        )}
        <Checkbox label="Read-only" checked={readOnly} onChange={setReadOnly} />
        <div className="buttons">
          <WriteButton type="button" onClick={testConnection} disabled={busy}>
            Test connection
          </WriteButton>
          <WriteButton type="submit" disabled={busy}>
            Add store
          </WriteButton>
        </div>
      </form>
      <Notice error={failure} success={success} />
    </section>
  );
}
