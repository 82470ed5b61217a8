import { type FormEvent, useState } from 'react';
import { api, seg } from '../api';
import { Field, Select } from '../components/Field';
import { Notice } from '../components/Notice';
import { WriteButton } from '../maintenance';
import type { Role, User, UserStore } from '../types';
import { useLoad } from '../useLoad';
import { type Errors, nameList, passwordProblem, required, valid } from '../validation';

const PAGE_SIZE = 10;

/** Users (searched by prefix, one store or all, a page at a time) and roles of one tenant. */
export function UsersPage({ tenant }: { tenant: string }) {
  const base = `/tenants/${seg(tenant)}`;
  const stores = useLoad(() => api<{ userstores: UserStore[] }>('GET', `${base}/userstores`), [base]);
  const [store, setStore] = useState('');
  const [search, setSearch] = useState('');
  const [prefix, setPrefix] = useState('');
  const [offset, setOffset] = useState(0);
  const [editing, setEditing] = useState<User>();
  const query = new URLSearchParams({ limit: String(PAGE_SIZE + 1), offset: String(offset) });
  if (prefix) query.set('prefix', prefix);
  if (store) query.set('store', store);
  const users = useLoad(
    () => api<{ users: User[] }>('GET', `${base}/users?${query}`),
    [base, query.toString()],
  );
  const roles = useLoad(() => api<{ roles: string[] }>('GET', `${base}/roles?limit=200`), [base]);
  const shown = users.data?.users.slice(0, PAGE_SIZE) ?? [];
  const hasMore = (users.data?.users.length ?? 0) > PAGE_SIZE;
  const storeOptions = [
    { value: '', label: 'All stores' },
    ...(stores.data?.userstores ?? []).map((s) => ({ value: s.domain, label: s.domain })),
  ];

  function searchFor(event: FormEvent) {
    event.preventDefault();
    setPrefix(search.trim());
    setOffset(0);
  }

  const refresh = () => {
    users.reload();
    roles.reload();
  };

  return (
    <>
      <section aria-labelledby="users-list">
        <h2 id="users-list">Users of {tenant}</h2>
        <form onSubmit={searchFor} className="inline-form">
          <Field label="Name starts with" value={search} onChange={setSearch} />
          <Select
            label="Store"
            value={store}
            onChange={(value) => {
              setStore(value);
              setOffset(0);
            }}
            options={storeOptions}
          />
          <button type="submit">Search</button>
        </form>
        <Notice error={users.error} />
        <div className="table-box">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Store</th>
                <th scope="col">Roles</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((user) => (
                <tr key={user.username}>
                  <td>
                    {user.username}
                    {user.system && <span className="badge">system</span>}
                  </td>
                  <td>{user.store}</td>
                  <td>{user.roles.join(', ') || '—'}</td>
                  <td>
                    <button type="button" onClick={() => setEditing(user)}>
                      Edit<span className="sr-only"> {user.username}</span>
                    </button>
                  </td>
                </tr>
              ))}
              {users.data && shown.length === 0 && (
                <tr>
                  <td colSpan={4}>No users match.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        <nav className="pager" aria-label="Pages of users">
          <button
            type="button"
            disabled={offset === 0}
            onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}
          >
            Previous
          </button>
          <span>
            {shown.length ? `${offset + 1}–${offset + shown.length}` : '0'}
            {hasMore ? ' of more' : ''}
          </span>
          <button type="button" disabled={!hasMore} onClick={() => setOffset(offset + PAGE_SIZE)}>
            Next
          </button>
        </nav>
      </section>
      {editing && (
        <EditUser
          key={editing.username}
          base={base}
          user={editing}
          onDone={() => {
            setEditing(undefined);
            refresh();
          }}
        />
      )}
      <CreateUser base={base} stores={stores.data?.userstores ?? []} onCreated={refresh} />
      <RolesSection base={base} roles={roles.data?.roles ?? []} error={roles.error} onChanged={refresh} />
    </>
  );
}

function CreateUser({
  base,
  stores,
  onCreated,
}: {
  base: string;
  stores: UserStore[];
  onCreated: () => void;
}) {
  const [store, setStore] = useState('PRIMARY');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState('');
  const [errors, setErrors] = useState<Errors<'username' | 'password'>>({});
  const [failure, setFailure] = useState<unknown>();
  const [success, setSuccess] = useState<string>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = {
      username:
        required(username, 'a user name') ?? (username.includes('/') ? 'Pick the store above.' : undefined),
      password: passwordProblem(password),
    };
    setErrors(found);
    setSuccess(undefined);
    if (!valid(found)) return;
    setFailure(undefined);
    const qualified = store === 'PRIMARY' ? username.trim() : `${store}/${username.trim()}`;
    try {
      await api<User>('POST', `${base}/users`, {
        body: { username: qualified, password, roles: nameList(roles) },
      });
      setSuccess(`User ${qualified} added.`);
      setUsername('');
      setPassword('');
      onCreated();
    } catch (error) {
      setFailure(error);
    }
  }

  const writable = stores.filter((s) => !s.readOnly && s.status === 'up');
  return (
    <section aria-labelledby="user-create">
      <h2 id="user-create">Add a user</h2>
      <form onSubmit={submit} noValidate className="grid-form">
        <Select
          label="Store"
          value={store}
          onChange={setStore}
          options={(writable.length ? writable : [{ domain: 'PRIMARY' }]).map((s) => ({
            value: s.domain,
            label: s.domain,
          }))}
        />
        <Field label="User name" value={username} onChange={setUsername} error={errors.username} />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          error={errors.password}
          autoComplete="new-password"
        />
        <Field label="Roles" value={roles} onChange={setRoles} hint="Comma-separated role names" />
        <div className="buttons">
          <WriteButton type="submit">Add user</WriteButton>
        </div>
      </form>
      <Notice error={failure} success={success} />
    </section>
  );
}

function EditUser({ base, user, onDone }: { base: string; user: User; onDone: () => void }) {
  const path = `${base}/users/${seg(user.username)}`;
  const [roles, setRoles] = useState(user.roles.join(', '));
  const [password, setPassword] = useState('');
  const [passwordError, setPasswordError] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const [success, setSuccess] = useState<string>();

  async function saveRoles(event: FormEvent) {
    event.preventDefault();
    setFailure(undefined);
    try {
      await api('PUT', `${path}/roles`, { body: { roles: nameList(roles) } });
      setSuccess(`Roles of ${user.username} saved.`);
      onDone();
    } catch (error) {
      setFailure(error);
    }
  }

  async function resetPassword(event: FormEvent) {
    event.preventDefault();
    const problem = passwordProblem(password);
    setPasswordError(problem);
    if (problem) return;
    setFailure(undefined);
    try {
      await api('PUT', `${path}/password`, { body: { password } });
      setPassword('');
      setSuccess(`Password of ${user.username} reset.`);
    } catch (error) {
      setFailure(error);
    }
  }

  return (
    <section aria-labelledby="user-edit" className="panel">
      <h2 id="user-edit">Edit {user.username}</h2>
      <form onSubmit={saveRoles} noValidate className="inline-form">
        <Field
          label="Roles"
          value={roles}
          onChange={setRoles}
          hint="Comma-separated; replaces the user's roles"
        />
        <WriteButton type="submit">Save roles</WriteButton>
      </form>
      <form onSubmit={resetPassword} noValidate className="inline-form">
        <Field
          label="New password"
          type="password"
          value={password}
          onChange={setPassword}
          error={passwordError}
          autoComplete="new-password"
        />
        <WriteButton type="submit">Reset password</WriteButton>
      </form>
      <Notice error={failure} success={success} />
      <button type="button" className="link" onClick={onDone}>
        Close
      </button>
    </section>
  );
}

function RolesSection({
  base,
  roles,
  error,
  onChanged,
}: {
  base: string;
  roles: string[];
  error: unknown;
  onChanged: () => void;
}) {
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string>();
  const [failure, setFailure] = useState<unknown>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const problem = required(name, 'a role name');
    setNameError(problem);
    if (problem) return;
    setFailure(undefined);
    try {
      await api<Role>('POST', `${base}/roles`, { body: { name: name.trim() } });
      setName('');
      onChanged();
    } catch (failed) {
      setFailure(failed);
    }
  }

  return (
    <section aria-labelledby="roles-list">
      <h2 id="roles-list">Roles</h2>
      <Notice error={error ?? failure} />
      <ul className="role-list" aria-label="Role names">
        {roles.map((role) => (
          <li key={role}>{role}</li>
        ))}
      </ul>
      <form onSubmit={submit} noValidate className="inline-form">
        <Field
          label="New role"
          value={name}
          onChange={setName}
          error={nameError}
          hint="STORE/name for a role of a secondary store"
        />
        <WriteButton type="submit">Add role</WriteButton>
      </form>
    </section>
  );
}
