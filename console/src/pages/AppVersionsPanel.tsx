import { useEffect, useId, useRef, useState } from 'react';
import { api, seg } from '../api';
import { AppRuntime } from '../components/AppStatus';
import { Notice } from '../components/Notice';
import { WriteButton } from '../maintenance';
import type { AppVersion, AppVersions, WebApp } from '../types';
import { useLoad } from '../useLoad';

const STATE_BADGE: Record<string, string> = { running: 'ok', error: 'bad', stopped: 'off' };
/** Enough of a SHA-256 to tell versions apart at a glance; the whole digest is in the cell's title. */
const CHECKSUM_SHOWN = 12;

/**
 * One app's versions as the cluster keeps them, newest first, with the app's state on this node above
 * them; any kept version other than the current one can be made current again (a rollback).
 */
export function AppVersionsPanel({
  base,
  app,
  onChanged,
  onClose,
}: {
  /** `/tenants/{domain}/webapps` */
  base: string;
  app: WebApp;
  /** Called after a rollback, whatever its outcome: the app list shows what each node now serves. */
  onChanged: () => void;
  onClose: () => void;
}) {
  const path = `${base}/${seg(app.name)}`;
  // Read again when this node's version of the app changes (an upload, a rollback from elsewhere).
  const versions = useLoad(() => api<AppVersions>('GET', `${path}/versions`), [path, app.version]);
  // The version being rolled back to while the call runs; every Roll back button is disabled meanwhile.
  const [pending, setPending] = useState<number>();
  // Set at once, unlike state, so that a second click arriving before the re-render finds it taken.
  const calling = useRef(false);
  const [failure, setFailure] = useState<unknown>();
  const [success, setSuccess] = useState<string>();
  const heading = useRef<HTMLHeadingElement>(null);
  const headingId = useId();

  // Opening the panel (or another app's) takes keyboard users to it rather than leaving them in the list.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the panel moves focus when the app changes
  useEffect(() => heading.current?.focus(), [app.name]);

  const current = versions.data?.current ?? null;

  async function rollBack(target: AppVersion) {
    if (calling.current) return;
    const failedBefore = target.failure ? ` It failed to start before: ${target.failure}` : '';
    const question =
      `Roll ${app.name} back to version ${target.version}? Every node starts it beside version ` +
      `${current ?? '?'} and switches to it once it runs.${failedBefore}`;
    if (!window.confirm(question)) return;
    calling.current = true;
    setPending(target.version);
    setFailure(undefined);
    setSuccess(undefined);
    try {
      const now = await api<WebApp>('POST', `${path}/rollback`, { body: { version: target.version } });
      setSuccess(`${app.name} now serves version ${now.status?.version ?? now.version} on this node.`);
    } catch (error) {
      setFailure(error);
    } finally {
      calling.current = false;
      setPending(undefined);
      // Reloaded after a refusal too: a 409 usually means the versions changed since the page loaded.
      versions.reload();
      onChanged();
    }
  }

  return (
    <section aria-labelledby={headingId} className="panel">
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Versions of {app.name}
      </h2>
      <NodeState app={app} current={current} />
      {versions.data && (
        <p className="muted">
          The newest {versions.data.keep}{' '}
          {versions.data.keep === 1 ? 'version keeps its' : 'versions keep their'} zip
          (deployment.keep_versions), and so does the current one; older ones are pruned and cannot be rolled
          back to.
        </p>
      )}
      <Notice error={versions.error} />
      {pending !== undefined && (
        <p className="notice progress" role="status">
          Rolling {app.name} back to version {pending}: this node starts it beside the version serving and
          switches once it runs…
        </p>
      )}
      <Notice error={failure} success={success} />
      <div className="table-box">
        <table className="versions" aria-busy={pending !== undefined || versions.loading}>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Deployed by</th>
              <th scope="col">Deployed at</th>
              <th scope="col">Origin</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Checksum</th>
              <th scope="col">Notes</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {versions.data?.versions.map((v) => (
              <tr key={v.version} aria-current={v.current ? 'true' : undefined}>
                <td>
                  {v.version}
                  {v.current && <span className="badge ok">current</span>}
                </td>
                <td>{v.deployedBy}</td>
                <td>
                  <time dateTime={v.deployedAt}>{new Date(v.deployedAt).toLocaleString()}</time>
                </td>
                <td>{v.origin}</td>
                <td className="num">{byteSize(v.sizeBytes)}</td>
                <td>
                  <span className="mono" title={v.checksum}>
                    {v.checksum.slice(0, CHECKSUM_SHOWN)}…
                  </span>
                </td>
                <td>
                  {!v.available && (
                    <span
                      className="badge off"
                      title={v.prunedAt ? `zip removed ${new Date(v.prunedAt).toLocaleString()}` : undefined}
                    >
                      pruned
                    </span>
                  )}
                  {v.failure && <span className="app-reason"> did not start: {v.failure}</span>}
                </td>
                <td className="actions">
                  {v.available && !v.current && (
                    <WriteButton type="button" disabled={pending !== undefined} onClick={() => rollBack(v)}>
                      {pending === v.version ? `Rolling back to ${v.version}…` : `Roll back to ${v.version}`}
                    </WriteButton>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" className="link" onClick={onClose}>
        Close<span className="sr-only"> the versions of {app.name}</span>
      </button>
    </section>
  );
}

/**
 * What this node serves of the app: the version (which may lag the cluster's current one for a few
 * seconds), and for a node app its process, a switch under way and the last version that failed to start.
 */
function NodeState({ app, current }: { app: WebApp; current: number | null }) {
  const status = app.status;
  const serving = status?.version ?? app.version;
  return (
    <dl className="facts">
      <dt>Runtime</dt>
      <dd>
        <AppRuntime app={app} />
      </dd>
      <dt>This node serves</dt>
      <dd>
        version {serving}
        {status && <span className={`badge ${STATE_BADGE[status.state] ?? ''}`}>{status.state}</span>}
        {status?.reason && <span className="app-reason"> {status.reason}</span>}
        {current !== null && String(current) !== serving && (
          <span className="muted">
            {' '}
            (the cluster's current version is {current}; this node follows within seconds)
          </span>
        )}
      </dd>
      {status?.next && (
        <>
          <dt>Starting</dt>
          <dd>
            version {status.next.version}, {status.next.state} since{' '}
            {new Date(status.next.since).toLocaleString()}
          </dd>
        </>
      )}
      {status?.failed && (
        <>
          <dt>Last failed</dt>
          <dd>
            version {status.failed.version} at {new Date(status.failed.at).toLocaleString()}:{' '}
            <span className="app-reason">{status.failed.reason}</span>
          </dd>
        </>
      )}
    </dl>
  );
}

function byteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
