import { useState } from 'react';
import { ApiError, api, seg } from '../api';
import { Notice } from '../components/Notice';
import type { RegistryResource } from '../types';
import { useLoad } from '../useLoad';

/** `/a/b` as the registry routes take it: each segment encoded, no leading slash. */
const routePath = (path: string) => path.split('/').filter(Boolean).map(seg).join('/');
const parentOf = (path: string) => `/${path.split('/').filter(Boolean).slice(0, -1).join('/')}`;

/** Walks the tenant's registry tree: the children of a path, and the resource at it if there is one. */
export function RegistryPage({ tenant }: { tenant: string }) {
  const base = `/tenants/${seg(tenant)}/registry`;
  const [path, setPath] = useState('/');
  // The list on the left: what is below the path, or, for a resource with nothing below, its siblings.
  const listing = useLoad(async () => {
    const below = (folder: string) =>
      api<{ path: string; children: string[] }>('GET', `${base}/children/${routePath(folder)}`);
    const own = await below(path);
    if (own.children.length > 0 || path === '/') return own;
    return below(parentOf(path));
  }, [base, path]);
  const resource = useLoad(async () => {
    if (path === '/') return undefined;
    try {
      return await api<RegistryResource>('GET', `${base}/resources/${routePath(path)}`);
    } catch (error) {
      // A path with children but no content of its own is a folder.
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }, [base, path]);
  const segments = path.split('/').filter(Boolean);

  return (
    <section aria-labelledby="registry-tree">
      <h2 id="registry-tree">Registry of {tenant}</h2>
      <nav aria-label="Registry path" className="crumbs">
        <button type="button" className="link" onClick={() => setPath('/')}>
          /
        </button>
        {segments.map((segment, index) => {
          const target = `/${segments.slice(0, index + 1).join('/')}`;
          return (
            <span key={target}>
              <button type="button" className="link" onClick={() => setPath(target)}>
                {segment}
              </button>
              {index < segments.length - 1 && ' / '}
            </span>
          );
        })}
      </nav>
      <Notice error={listing.error ?? resource.error} />
      <div className="split">
        <div>
          <h3>In {listing.data?.path ?? path}</h3>
          <ul className="tree">
            {listing.data?.children.map((child) => (
              <li key={child}>
                <button
                  type="button"
                  className="link"
                  aria-current={child === path ? 'true' : undefined}
                  onClick={() => setPath(child)}
                >
                  {child.split('/').pop()}
                </button>
              </li>
            ))}
            {listing.data?.children.length === 0 && <li className="muted">Nothing here yet.</li>}
          </ul>
        </div>
        <div>
          {resource.data ? (
            <article aria-label={`Resource ${resource.data.path}`}>
              <h3>{resource.data.path}</h3>
              <dl className="facts">
                <dt>Version</dt>
                <dd>{resource.data.version}</dd>
                <dt>Media type</dt>
                <dd>{resource.data.mediaType}</dd>
                <dt>Written by</dt>
                <dd>
                  {resource.data.createdBy}, {new Date(resource.data.createdAt).toLocaleString()}
                </dd>
                {Object.entries(resource.data.properties).map(([key, value]) => (
                  <div key={key}>
                    <dt>{key}</dt>
                    <dd>{value}</dd>
                  </div>
                ))}
              </dl>
              <pre className="content">
                {resource.data.encoding === 'utf8'
                  ? resource.data.content
                  : `(binary, base64) ${resource.data.content}`}
              </pre>
            </article>
          ) : (
            <p className="muted">{path === '/' ? 'Pick a path on the left.' : 'No resource at this path.'}</p>
          )}
        </div>
      </div>
    </section>
  );
}
