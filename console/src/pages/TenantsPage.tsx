import { type FormEvent, useState } from 'react';
import { api, seg } from '../api';
import { Field } from '../components/Field';
import { Notice } from '../components/Notice';
import { WriteButton } from '../maintenance';
import type { Tenant } from '../types';
import { useLoad } from '../useLoad';
import { type Errors, passwordProblem, tenantDomainProblem, valid } from '../validation';

/** Every tenant, a form to add one, (de)activation and deletion. Super tenant admin only. */
export function TenantsPage({
  onManage,
  onDeleted,
}: {
  onManage: (domain: string) => void;
  onDeleted: (domain: string) => void;
}) {
  const tenants = useLoad(() => api<{ tenants: Tenant[] }>('GET', '/tenants'), []);
  const [failure, setFailure] = useState<unknown>();
  const [deleted, setDeleted] = useState<string>();

  async function setActive(tenant: Tenant, active: boolean) {
    setFailure(undefined);
    setDeleted(undefined);
    try {
      await api('PATCH', `/tenants/${seg(tenant.domain)}`, { body: { active } });
      tenants.reload();
    } catch (error) {
      setFailure(error);
    }
  }

  async function remove(tenant: Tenant) {
    const question =
      `Delete the tenant ${tenant.domain}? Its users can no longer log in and its apps stop being served. ` +
      `Its folder (repository/tenants/${tenant.id}/: apps and user store files) is moved to backups/, not erased.`;
    if (!window.confirm(question)) return;
    setFailure(undefined);
    setDeleted(undefined);
    try {
      await api('DELETE', `/tenants/${seg(tenant.domain)}`);
      setDeleted(`Tenant ${tenant.domain} deleted; its folder is in backups/.`);
      onDeleted(tenant.domain);
    } catch (error) {
      setFailure(error);
    } finally {
      // Also after a failure: another admin may have deleted it already.
      tenants.reload();
    }
  }

  return (
    <>
      {/* No heading of its own: the page's title already says "Tenants". */}
      <section aria-label="Tenants">
        <Notice error={tenants.error ?? failure} success={deleted} />
        <div className="table-box">
          <table>
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">Id</th>
                <th scope="col">Admin</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tenants.data?.tenants.map((tenant) => (
                <tr key={tenant.id}>
                  <td>{tenant.domain}</td>
                  <td>{tenant.id}</td>
                  <td>{tenant.adminUsername}</td>
                  <td>
                    <span className={tenant.active ? 'badge ok' : 'badge off'}>
                      {tenant.active ? 'active' : 'inactive'}
                    </span>
                  </td>
                  <td>{new Date(tenant.createdAt).toLocaleString()}</td>
                  <td className="actions">
                    <button type="button" onClick={() => onManage(tenant.domain)}>
                      Manage<span className="sr-only"> {tenant.domain}</span>
                    </button>
                    {tenant.id > 0 && (
                      <WriteButton type="button" onClick={() => setActive(tenant, !tenant.active)}>
                        {tenant.active ? 'Deactivate' : 'Activate'}
                        <span className="sr-only"> {tenant.domain}</span>
                      </WriteButton>
                    )}
                    {tenant.id > 0 && (
                      <WriteButton type="button" className="danger" onClick={() => remove(tenant)}>
                        Delete<span className="sr-only"> {tenant.domain}</span>
                      </WriteButton>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <CreateTenant onCreated={tenants.reload} />
    </>
  );
}

function CreateTenant({ onCreated }: { onCreated: () => void }) {
  const [domain, setDomain] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors<'domain' | 'password'>>({});
  const [failure, setFailure] = useState<unknown>();
  const [created, setCreated] = useState<string>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = { domain: tenantDomainProblem(domain.trim()), password: passwordProblem(password) };
    setErrors(found);
    setCreated(undefined);
    if (!valid(found)) return;
    setFailure(undefined);
    try {
      const tenant = await api<Tenant>('POST', '/tenants', {
        body: { domain: domain.trim(), adminPassword: password },
      });
      setCreated(`Tenant ${tenant.domain} created; its admin is ${tenant.adminUsername}@${tenant.domain}.`);
      setDomain('');
      setPassword('');
      onCreated();
    } catch (error) {
      setFailure(error);
    }
  }

  return (
    <section aria-labelledby="tenant-create">
      <h2 id="tenant-create">Create a tenant</h2>
      <form onSubmit={submit} noValidate className="inline-form">
        <Field
          label="Domain"
          value={domain}
          onChange={setDomain}
          error={errors.domain}
          placeholder="acme.com"
        />
        <Field
          label="Admin password"
          type="password"
          value={password}
          onChange={setPassword}
          error={errors.password}
          autoComplete="new-password"
        />
        <WriteButton type="submit">Create tenant</WriteButton>
      </form>
      <Notice error={failure} success={created} />
    </section>
  );
}
