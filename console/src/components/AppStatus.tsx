import type { WebApp } from '../types';

const BADGE: Record<string, string> = { running: 'ok', error: 'bad', stopped: 'off' };

/** How an app runs: `static`, or `node` with its entry. */
export function AppRuntime({ app }: { app: WebApp }) {
  if (app.runtime !== 'node') return <>static</>;
  return (
    <>
      node <span className="muted mono">{app.entry}</span>
    </>
  );
}

/**
 * A node app's process: its state (the reason when it is not running), a redeploy starting or failed,
 * restarts and memory. Static apps
 * have no process; a node app without status is one this server runs no processes for (yet).
 */
export function AppStatus({ app }: { app: WebApp }) {
  if (app.runtime !== 'node') return <span className="muted">—</span>;
  const status = app.status;
  if (!status) return <span className="muted">unknown</span>;
  return (
    <>
      <span
        className={`badge ${BADGE[status.state] ?? ''}`}
        title={`since ${new Date(status.since).toLocaleString()}`}
      >
        {status.state}
      </span>
      {status.reason && <span className="app-reason"> {status.reason}</span>}
      {status.next && <span className="muted"> (a new version is starting)</span>}
      {status.failed && (
        <span className="app-reason">
          {' '}
          redeploy failed, the previous version keeps serving: {status.failed.reason}
        </span>
      )}
      <br />
      <span className="muted">
        {status.restarts} {status.restarts === 1 ? 'restart' : 'restarts'}
        {status.memoryBytes !== undefined && `, ${megabytes(status.memoryBytes)} MB`}
        {app.limits && ` of ${app.limits.memoryMb} MB heap`}
      </span>
    </>
  );
}

function megabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0);
}
