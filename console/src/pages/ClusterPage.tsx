import { useEffect } from 'react';
import { api } from '../api';
import { Notice } from '../components/Notice';
import type { ClusterStatus } from '../types';
import { useLoad } from '../useLoad';

const REFRESH_MS = 5_000;

/** The nodes sharing the database, with their last heartbeats; refreshed every few seconds. */
export function ClusterPage() {
  const status = useLoad(() => api<ClusterStatus>('GET', '/cluster/nodes'), []);
  const { reload } = status;
  useEffect(() => {
    const timer = window.setInterval(reload, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);

  return (
    <section aria-labelledby="nodes">
      <h2 id="nodes">Nodes</h2>
      {status.data && (
        <p className="muted">
          Nodes heartbeat every {status.data.heartbeatSeconds} s and count as gone after{' '}
          {status.data.goneAfterSeconds} s of silence.
        </p>
      )}
      <Notice error={status.error} />
      <div className="table-box">
        <table>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Address</th>
              <th scope="col">Release</th>
              <th scope="col">Started</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {status.data?.nodes.map((node) => (
              <tr key={node.nodeId}>
                <td className="mono">{node.nodeId}</td>
                <td>
                  {node.host}:{node.port}
                </td>
                <td>{node.release}</td>
                <td>{new Date(node.startedAt).toLocaleString()}</td>
                <td>
                  {new Date(node.lastHeartbeat).toLocaleTimeString()} ({node.secondsSinceHeartbeat} s ago)
                </td>
                <td>
                  <span className={node.state === 'live' ? 'badge ok' : 'badge bad'}>{node.state}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
