import { type FormEvent, useId, useRef, useState } from 'react';
import { api, seg } from '../api';
import { AppRuntime, AppStatus } from '../components/AppStatus';
import { Field } from '../components/Field';
import { Notice } from '../components/Notice';
import { WriteButton } from '../maintenance';
import type { RefusedApp, WebApp } from '../types';
import { useLoad } from '../useLoad';
import { appNameProblem } from '../validation';
import { AppNodes } from './AppNodes';
import { AppVersionsPanel } from './AppVersionsPanel';

/** The tenant's deployed apps: open, see their versions and roll back, undeploy, or upload a zip. */
export function WebappsPage({ tenant }: { tenant: string }) {
  const base = `/tenants/${seg(tenant)}/webapps`;
  const apps = useLoad(() => api<{ webapps: WebApp[]; refused?: RefusedApp[] }>('GET', base), [base]);
  const refused = apps.data?.refused ?? [];
  const [failure, setFailure] = useState<unknown>();
  // The app whose versions are open below the list; gone from the list (undeployed), the panel closes.
  const [versionsOf, setVersionsOf] = useState<string>();
  const shownVersions = apps.data?.webapps.find((app) => app.name === versionsOf);
  // Each app's Versions button, so that closing its panel puts the keyboard focus back where it was.
  const versionButtons = useRef(new Map<string, HTMLButtonElement>());

  function closeVersions(name: string) {
    setVersionsOf(undefined);
    versionButtons.current.get(name)?.focus();
  }

  async function undeploy(app: WebApp) {
    if (!window.confirm(`Undeploy ${app.name}? Its source is moved to the backups folder.`)) return;
    setFailure(undefined);
    try {
      await api('DELETE', `${base}/${seg(app.name)}`);
      apps.reload();
    } catch (error) {
      setFailure(error);
    }
  }

  return (
    <>
      <section aria-labelledby="apps-list">
        <h2 id="apps-list">Web applications of {tenant}</h2>
        <Notice error={apps.error ?? failure} />
        <div className="table-box">
          <table>
            <thead>
              <tr>
                <th scope="col">App</th>
                <th scope="col">From</th>
                <th scope="col">Runtime</th>
                <th scope="col">Status</th>
                <th scope="col">Login</th>
                <th scope="col">Deployed</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {apps.data?.webapps.map((app) => (
                <tr key={app.name}>
                  <td>
                    <a href={app.url} target="_blank" rel="noreferrer">
                      {app.name}
                    </a>{' '}
                    <span className="muted mono">{app.url}</span>
                  </td>
                  <td>{app.source}</td>
                  <td>
                    <AppRuntime app={app} />
                  </td>
                  <td>
                    <AppStatus app={app} />
                  </td>
                  <td>{app.login ? 'required' : 'no'}</td>
                  <td>
                    {new Date(app.deployedAt).toLocaleString()}
                    <br />
                    <span className="muted">version {app.version}</span>
                    <AppNodes app={app} />
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      ref={(button) => {
                        if (button) versionButtons.current.set(app.name, button);
                        else versionButtons.current.delete(app.name);
                      }}
                      aria-expanded={versionsOf === app.name}
                      onClick={() => setVersionsOf(versionsOf === app.name ? undefined : app.name)}
                    >
                      Versions<span className="sr-only"> of {app.name}</span>
                    </button>
                    <WriteButton type="button" onClick={() => undeploy(app)}>
                      Undeploy<span className="sr-only"> {app.name}</span>
                    </WriteButton>
                  </td>
                </tr>
              ))}
              {apps.data?.webapps.length === 0 && (
                <tr>
                  <td colSpan={7}>No apps deployed.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      {shownVersions && (
        <AppVersionsPanel
          key={shownVersions.name}
          base={base}
          app={shownVersions}
          onChanged={apps.reload}
          onClose={() => closeVersions(shownVersions.name)}
        />
      )}
      {refused.length > 0 && <RefusedApps tenant={tenant} refused={refused} />}
      <UploadApp base={base} onUploaded={apps.reload} />
    </>
  );
}

/** What is in the tenant's webapps/ folder but not deployed: each entry with the server's reason. */
function RefusedApps({ tenant, refused }: { tenant: string; refused: RefusedApp[] }) {
  return (
    <section aria-labelledby="apps-refused">
      <h2 id="apps-refused">Not deployed</h2>
      <p className="muted">
        These entries of the webapps/ folder of {tenant} were refused. Fix or remove them there (or upload a
        corrected zip under the same name); one refused for a quota is deployed by itself once there is room.
      </p>
      <div className="table-box">
        <table>
          <thead>
            <tr>
              <th scope="col">App</th>
              <th scope="col">Entry</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {refused.map((app) => (
              <tr key={app.entry}>
                <td>{app.name}</td>
                <td className="mono">{app.entry}</td>
                <td>
                  <span className="badge bad">{app.error}</span> {app.message}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function UploadApp({ base, onUploaded }: { base: string; onUploaded: () => void }) {
  const fileId = useId();
  const [file, setFile] = useState<File>();
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<{ file?: string; name?: string }>({});
  const [failure, setFailure] = useState<unknown>();
  const [success, setSuccess] = useState<string>();
  const [busy, setBusy] = useState(false);

  function choose(chosen: File | undefined) {
    setFile(chosen);
    if (chosen && !name) setName(chosen.name.replace(/\.zip$/i, ''));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = { file: file ? undefined : 'Choose a .zip file.', name: appNameProblem(name.trim()) };
    setErrors(found);
    setSuccess(undefined);
    if (!file || found.name) return;
    setFailure(undefined);
    setBusy(true);
    try {
      const app = await api<WebApp>('POST', `${base}?name=${encodeURIComponent(name.trim())}`, {
        raw: { data: file, contentType: 'application/zip' },
      });
      // A node app is deployed even when its code does not start: say so rather than report success alone.
      if (app.status?.state === 'error') {
        setFailure(
          new Error(
            `${app.name} deployed at ${app.url}, but it does not start: ${app.status.reason ?? 'see the server log'}`,
          ),
        );
      } else {
        setSuccess(`${app.name} deployed at ${app.url}.`);
      }
      setName('');
      setFile(undefined);
      (event.target as HTMLFormElement).reset();
      onUploaded();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="app-upload">
      <h2 id="app-upload">Upload an app</h2>
      <form onSubmit={submit} noValidate className="inline-form">
        <div className="field">
          <label htmlFor={fileId}>Zip file</label>
          <input
            id={fileId}
            type="file"
            accept=".zip,application/zip"
            onChange={(event) => choose(event.target.files?.[0])}
            aria-invalid={errors.file ? true : undefined}
            aria-describedby={errors.file ? `${fileId}-error` : undefined}
          />
          {errors.file && (
            <small id={`${fileId}-error`} className="field-error" role="alert">
              {errors.file}
            </small>
          )}
        </div>
        <Field label="App name" value={name} onChange={setName} error={errors.name} />
        <WriteButton type="submit" disabled={busy}>
          {busy ? 'Uploading…' : 'Upload and deploy'}
        </WriteButton>
      </form>
      <Notice error={failure} success={success} />
    </section>
  );
}
