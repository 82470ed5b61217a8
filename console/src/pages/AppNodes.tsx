import type { WebApp, WebAppOnNode } from '../types';

/** Serving the version this node deployed, as a node that is up to date does. */
const inStep = (app: WebApp, node: WebAppOnNode) =>
  node.version === app.version && (node.state === 'running' || node.state === 'serving');

/**
 * How many of the cluster's live nodes serve the app's version, and what each of the others does: a redeploy
 * still reaching them, a node where it does not start, a node that has not reported.
 */
export function AppNodes({ app }: { app: WebApp }) {
  const nodes = app.nodes ?? [];
  if (nodes.length === 0) return null;
  const behind = nodes.filter((node) => !inStep(app, node));
  return (
    <>
      <br />
      <span className="muted" data-testid={`nodes-${app.name}`}>
        on {nodes.length - behind.length} of {nodes.length} node{nodes.length === 1 ? '' : 's'}
      </span>
      {behind.length > 0 && (
        <ul className="muted">
          {behind.map((node, index) => (
            // Node ids are shown to the super tenant's admins only; a tenant's admin sees the list's order.
            <li key={node.node ?? index}>
              {node.node ?? `a node`}: {node.state}
              {node.version === undefined ? '' : ` (version ${node.version})`}
              {node.reason === undefined ? '' : `: ${node.reason}`}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
