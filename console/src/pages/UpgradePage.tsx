import { api } from '../api';
import { ConfigReport } from '../components/ConfigReport';
import { Notice } from '../components/Notice';
import { formatDuration, Timeline } from '../components/Timeline';
import type { UpgradeReport } from '../types';
import { useLoad } from '../useLoad';

type TableFacts = Record<string, { rows?: number; checksum?: string }>;

/** The journal of the upgrade that made this home: steps on a time line, copies, checksums, config, outage. */
export function UpgradePage() {
  // 204 (no body) when no upgrade has run here: asked that way, the browser logs no failed request.
  const report = useLoad(
    async () => (await api<UpgradeReport | undefined>('GET', '/upgrade/report')) ?? null,
    [],
  );
  if (report.error) return <Notice error={report.error} />;
  if (report.data === undefined) return <p className="loading">Loading…</p>;
  if (report.data === null) return <NoUpgrade />;

  const { journal, text } = report.data;
  // The journal lists its steps in the order they run (the server's step list), so the page keeps no copy.
  const steps = Object.entries(journal.steps).map(([name, step]) => ({ name, step }));
  const details = (name: string) => journal.steps[name]?.details ?? {};
  const tables = details('stage').tables as TableFacts | undefined;
  // SQLite's copy is checked by one digest of the whole file, the same for every table: shown once.
  const pageDigest = details('stage').pageDigest as string | undefined;
  const newTables = (details('checkpoints').newTables as string[] | undefined) ?? [];
  const newColumns = (details('checkpoints').newColumns as string[] | undefined) ?? [];
  const config = (details('configure').report as unknown[] | undefined) ?? [];

  return (
    <>
      <section aria-labelledby="upgrade-summary">
        <h2 id="upgrade-summary">
          {journal.plan.sourceRelease} → {journal.plan.targetRelease}{' '}
          <span className={journal.status === 'completed' ? 'badge ok' : 'badge bad'}>{journal.status}</span>
        </h2>
        <dl className="facts">
          <dt>Path</dt>
          <dd>{[journal.plan.sourceRelease, ...journal.plan.hops].join(' → ')}</dd>
          <dt>Database</dt>
          <dd>{journal.plan.kind}</dd>
          <dt>From home</dt>
          <dd className="mono">{journal.command.fromHome}</dd>
          <dt>Started</dt>
          <dd>{new Date(journal.createdAt).toLocaleString()}</dd>
          <dt>Outage</dt>
          <dd className="outage-figure">
            {journal.outage ? formatDuration(journal.outage.durationMs) : 'not measured'}
          </dd>
        </dl>
      </section>
      <section aria-labelledby="upgrade-timeline">
        <h2 id="upgrade-timeline">Steps</h2>
        <Timeline steps={steps} outage={journal.outage} />
        <div className="table-box">
          <table>
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Status</th>
                <th scope="col">Duration</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {steps.map(({ name, step }) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td>
                    {step.status}
                    {step.error && (
                      <div className="muted">
                        {step.error.code}: {step.error.message}
                      </div>
                    )}
                  </td>
                  <td className="num">{formatDuration(step.durationMs)}</td>
                  <td className="num">{step.attempts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {tables && (
        <section aria-labelledby="upgrade-rows">
          <h2 id="upgrade-rows">Rows copied to staging</h2>
          {pageDigest !== undefined && (
            <p className="page-digest">
              Staging's file was compared page for page with production's: equal, SHA-256{' '}
              <span className="mono">{pageDigest}</span>
            </p>
          )}
          <div className="table-box">
            <table>
              <thead>
                <tr>
                  <th scope="col">Table</th>
                  <th scope="col">Rows</th>
                  {pageDigest === undefined && <th scope="col">Checksum</th>}
                </tr>
              </thead>
              <tbody>
                {Object.entries(tables).map(([name, facts]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td className="num">{facts.rows ?? '?'}</td>
                    {pageDigest === undefined && <td className="mono">{facts.checksum ?? ''}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      {(newTables.length > 0 || newColumns.length > 0) && (
        <section aria-labelledby="upgrade-schema">
          <h2 id="upgrade-schema">New in the target schema</h2>
          <ul className="columns">
            {newTables.map((table) => (
              <li key={`t-${table}`}>table {table}</li>
            ))}
            {newColumns.map((column) => (
              <li key={`c-${column}`}>column {column}</li>
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="upgrade-config">
        <h2 id="upgrade-config">Configuration report</h2>
        <ConfigReport entries={config} />
      </section>
      <details>
        <summary>
          The report as <code>tessera upgrade report</code> prints it
        </summary>
        <pre className="content">{text}</pre>
      </details>
    </>
  );
}

function NoUpgrade() {
  return (
    <section aria-labelledby="upgrade-none">
      <h2 id="upgrade-none">No upgrade has run on this home</h2>
      <p>
        This page shows the journal of the <code>tessera upgrade</code> that made a home. To upgrade an older
        release, stop its nodes and run, on this machine:
      </p>
      <pre className="content">
        tessera upgrade --from-home OLD_HOME --home NEW_HOME --staging-db DATABASE_URL --dry-run
      </pre>
      <p>
        Without <code>--dry-run</code> it runs; then start the server on <code>NEW_HOME</code> and its report
        shows here (<code>tessera upgrade report --home NEW_HOME</code> prints it too).
      </p>
    </section>
  );
}
