import { type FormEvent, useState } from 'react';
import { api, seg } from '../api';
import { Field } from '../components/Field';
import { Notice } from '../components/Notice';
import { WriteButton } from '../maintenance';
import { useLoad } from '../useLoad';

/** A client as `GET /tenants/{domain}/oidc/clients` answers it (never its secret). */
interface OidcClient {
  clientId: string;
  name: string;
  type: 'confidential' | 'public';
  redirectUris: string[];
  firstParty: boolean;
  createdAt: string;
}

interface SigningKey {
  kid: string;
  alg: string;
  status: 'signing' | 'retiring';
  createdAt: string;
  retiresAt?: string;
}

/** The tenant's OpenID Connect issuer: its clients (register, remove) and its signing keys (rotate). */
export function OidcPage({ tenant }: { tenant: string }) {
  const base = `/tenants/${seg(tenant)}/oidc`;
  const clients = useLoad(() => api<OidcClient[]>('GET', `${base}/clients`), [base]);
  const keys = useLoad(() => api<SigningKey[]>('GET', `${base}/keys`), [base]);
  const [failure, setFailure] = useState<unknown>();

  async function remove(client: OidcClient) {
    if (!window.confirm(`Remove the client ${client.name}? The tokens issued to it stop working.`)) return;
    setFailure(undefined);
    try {
      await api('DELETE', `${base}/clients/${seg(client.clientId)}`);
    } catch (error) {
      setFailure(error);
    } finally {
      clients.reload();
    }
  }

  async function rotate() {
    setFailure(undefined);
    try {
      await api('POST', `${base}/keys/rotate`);
    } catch (error) {
      setFailure(error);
    } finally {
      keys.reload();
    }
  }

  return (
    <>
      <section aria-labelledby="oidc-clients">
        <h2 id="oidc-clients">Clients of {tenant}</h2>
        <Notice error={clients.error ?? failure} />
        <div className="table-box">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client id</th>
                <th scope="col">Type</th>
                <th scope="col">Redirect URIs</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {clients.data?.map((client) => (
                <tr key={client.clientId}>
                  <td>
                    {client.name}
                    {client.firstParty && <span className="badge ok">first party</span>}
                  </td>
                  <td className="mono">{client.clientId}</td>
                  <td>{client.type}</td>
                  <td>{client.redirectUris.join(' ')}</td>
                  <td className="actions">
                    <WriteButton type="button" className="danger" onClick={() => remove(client)}>
                      Remove<span className="sr-only"> {client.name}</span>
                    </WriteButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <RegisterClient base={base} onRegistered={clients.reload} />
      <section aria-labelledby="oidc-keys">
        <h2 id="oidc-keys">Signing keys</h2>
        <Notice error={keys.error} />
        <div className="table-box">
          <table>
            <thead>
              <tr>
                <th scope="col">Key id</th>
                <th scope="col">Algorithm</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Leaves the JWKS</th>
              </tr>
            </thead>
            <tbody>
              {keys.data?.map((key) => (
                <tr key={key.kid}>
                  <td className="mono">{key.kid}</td>
                  <td>{key.alg}</td>
                  <td>
                    <span className={key.status === 'signing' ? 'badge ok' : 'badge off'}>{key.status}</span>
                  </td>
                  <td>{new Date(key.createdAt).toLocaleString()}</td>
                  <td>{key.retiresAt ? new Date(key.retiresAt).toLocaleString() : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <WriteButton type="button" onClick={rotate}>
          Rotate signing key
        </WriteButton>
      </section>
    </>
  );
}

function RegisterClient({ base, onRegistered }: { base: string; onRegistered: () => void }) {
  const [name, setName] = useState('');
  const [redirectUri, setRedirectUri] = useState('');
  const [type, setType] = useState<'confidential' | 'public'>('confidential');
  const [firstParty, setFirstParty] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const [registered, setRegistered] = useState<string>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(undefined);
    setRegistered(undefined);
    try {
      const client = await api<OidcClient & { clientSecret?: string }>('POST', `${base}/clients`, {
        body: { name: name.trim(), type, redirectUris: redirectUri.split(/\s+/).filter(Boolean), firstParty },
      });
      // The secret is in this answer only: the server keeps its hash.
      setRegistered(
        client.clientSecret
          ? `Client ${client.clientId} registered. Its secret, shown this once: ${client.clientSecret}`
          : `Client ${client.clientId} registered (public: no secret, PKCE required).`,
      );
      setName('');
      setRedirectUri('');
      onRegistered();
    } catch (error) {
      setFailure(error);
    }
  }

  return (
    <section aria-labelledby="oidc-register">
      <h2 id="oidc-register">Register a client</h2>
      <form onSubmit={submit} noValidate className="inline-form">
        <Field label="Client name" value={name} onChange={setName} />
        <Field
          label="Redirect URIs"
          value={redirectUri}
          onChange={setRedirectUri}
          placeholder="https://app.example.com/callback"
          hint="https, or http to localhost; several separated by spaces"
        />
        <div className="field">
          <label htmlFor="oidc-client-type">Type</label>
          <select
            id="oidc-client-type"
            value={type}
            onChange={(event) => setType(event.target.value as 'confidential' | 'public')}
          >
            <option value="confidential">confidential (a server: gets a secret)</option>
            <option value="public">public (a browser or mobile app: PKCE)</option>
          </select>
        </div>
        <label>
          <input
            type="checkbox"
            checked={firstParty}
            onChange={(event) => setFirstParty(event.target.checked)}
          />{' '}
          First party (no consent page)
        </label>
        <WriteButton type="submit">Register client</WriteButton>
      </form>
      <Notice error={failure} success={registered} />
    </section>
  );
}
