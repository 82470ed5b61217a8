import { type FormEvent, useState } from 'react';
import { ApiError, api, seg } from '../api';
import { Field } from '../components/Field';
import { Notice } from '../components/Notice';
import type { AuditPage as AuditAnswer, AuditEntry, AuditRetention } from '../identity-types';
import { WriteButton } from '../maintenance';
import { useLoad } from '../useLoad';

const PAGE_SIZE = 25;

interface Filters {
  action: string;
  actor: string;
  since: string;
  until: string;
}

const NO_FILTERS: Filters = { action: '', actor: '', since: '', until: '' };

/** A tenant's audit trail (logins and admin changes), filtered and paged by the API's cursor, and its retention. */
export function AuditPage({ tenant }: { tenant: string }) {
  const base = `/tenants/${seg(tenant)}`;
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [filterError, setFilterError] = useState<string>();
  // The cursors of the pages seen, newest first: the last one is the page shown (undefined: the first page).
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filters.action) query.set('action', filters.action);
  if (filters.actor) query.set('actor', filters.actor);
  if (filters.since) query.set('since', new Date(filters.since).toISOString());
  if (filters.until) query.set('until', new Date(filters.until).toISOString());
  if (before !== undefined) query.set('before', String(before));
  const page = useLoad(() => api<AuditAnswer>('GET', `${base}/audit?${query}`), [base, query.toString()]);

  function apply(event: FormEvent) {
    event.preventDefault();
    const trimmed = { ...draft, action: draft.action.trim(), actor: draft.actor.trim() };
    if (trimmed.since && trimmed.until && new Date(trimmed.since) >= new Date(trimmed.until)) {
      setFilterError('The end must come after the start.');
      return;
    }
    setFilterError(undefined);
    setFilters(trimmed);
    setCursors([undefined]);
  }

  const entries = page.data?.entries ?? [];
  const next = page.data?.next;
  return (
    <>
      <section aria-labelledby="audit-list">
        <h2 id="audit-list">Audit trail of {tenant}</h2>
        <form onSubmit={apply} noValidate className="inline-form" aria-label="Audit filters">
          <Field
            label="Action starts with"
            value={draft.action}
            onChange={(action) => setDraft({ ...draft, action })}
            hint="login. (every login), login.failure, lockout., settings., user."
          />
          <Field
            label="Actor"
            value={draft.actor}
            onChange={(actor) => setDraft({ ...draft, actor })}
            hint="Exactly as recorded: alice@acme.com"
          />
          <Field
            label="From"
            type="datetime-local"
            value={draft.since}
            onChange={(since) => setDraft({ ...draft, since })}
          />
          <Field
            label="Until"
            type="datetime-local"
            value={draft.until}
            onChange={(until) => setDraft({ ...draft, until })}
            error={filterError}
          />
          <button type="submit">Show</button>
        </form>
        <Notice error={page.error} />
        <div className="table-box">
          <table aria-busy={page.loading}>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id}>
                  <td>
                    <time dateTime={entry.at}>{new Date(entry.at).toLocaleString()}</time>
                  </td>
                  <td>{entry.actor}</td>
                  <td>{entry.action}</td>
                  <td>{entry.target}</td>
                  <td>{describeDetail(entry)}</td>
                </tr>
              ))}
              {page.data && entries.length === 0 && (
                <tr>
                  <td colSpan={5}>No entries match.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        <nav className="pager" aria-label="Pages of the audit trail">
          <button
            type="button"
            disabled={cursors.length === 1}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            Newer
          </button>
          <span>Page {cursors.length}</span>
          <button type="button" disabled={next === undefined} onClick={() => setCursors([...cursors, next])}>
            Older
          </button>
        </nav>
      </section>
      <RetentionSection base={base} />
    </>
  );
}

/** A login's `{reason, store, address}` in words; anything else as its JSON. */
function describeDetail(entry: AuditEntry): string {
  const detail = entry.detail;
  if (detail === null || detail === undefined) return '—';
  if (typeof detail === 'object' && !Array.isArray(detail) && 'reason' in detail) {
    const { reason, store, address } = detail as { reason?: string; store?: string | null; address?: string };
    return [reason && `reason ${reason}`, store && `store ${store}`, address && `from ${address}`]
      .filter(Boolean)
      .join(' · ');
  }
  return JSON.stringify(detail);
}

const SOURCE_TEXT = {
  tenant: "this tenant's own",
  server: "the server's (carbon.super's)",
  default: 'none set',
};

/** How many days the tenant's entries are kept: its own number, or the server's, or for ever. */
function RetentionSection({ base }: { base: string }) {
  const route = `${base}/settings/audit-retention`;
  const current = useLoad(() => api<AuditRetention>('GET', route), [route]);
  const [days, setDays] = useState<string>();
  const [fieldError, setFieldError] = useState<string>();
  const [failure, setFailure] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  const shown = days ?? (current.data?.days == null ? '' : String(current.data.days));

  async function save(method: 'PUT' | 'DELETE') {
    setFieldError(undefined);
    setFailure(undefined);
    setSaved(undefined);
    const text = shown.trim();
    const value = text === '' ? null : Number(text);
    if (method === 'PUT' && value !== null && !Number.isInteger(value)) {
      setFieldError('Whole days, or empty to keep entries for ever.');
      return;
    }
    try {
      const answer = await api<AuditRetention>(
        method,
        route,
        method === 'PUT' ? { body: { days: value } } : {},
      );
      setDays(undefined);
      setSaved(
        answer.days === null
          ? 'Entries are kept for ever.'
          : `Entries older than ${answer.days} days are deleted.`,
      );
      current.reload();
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) setFieldError(error.message);
      else setFailure(error);
    }
  }

  return (
    <section aria-labelledby="audit-retention">
      <h2 id="audit-retention">Retention</h2>
      <Notice error={current.error ?? failure} success={saved} />
      {current.data && (
        <p>
          In force: {current.data.days === null ? 'kept for ever' : `${current.data.days} days`} (
          {SOURCE_TEXT[current.data.source]}).
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void save('PUT');
        }}
        noValidate
        className="inline-form"
        aria-label="Audit retention"
      >
        <Field
          label="Keep entries (days)"
          inputMode="numeric"
          value={shown}
          onChange={setDays}
          error={fieldError}
          hint="Empty: for ever. Older entries are deleted every 10 minutes."
        />
        <WriteButton type="submit">Save retention</WriteButton>
        <WriteButton type="button" onClick={() => void save('DELETE')}>
          Use the server's
        </WriteButton>
      </form>
    </section>
  );
}
