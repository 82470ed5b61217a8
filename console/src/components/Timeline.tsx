import type { JournalStep } from '../types';

export interface TimelineStep {
  name: string;
  step: JournalStep;
}

const ROW = 26;
const LABEL = 110;
const WIDTH = 760;
const DURATION_LABEL = 80;

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/**
 * The upgrade's steps on one time axis: each bar starts when its step started and is as long as it took,
 * so both the slow steps and the gaps between steps (a resume, a prompt) show.
 */
export function Timeline({
  steps,
  outage,
}: {
  steps: TimelineStep[];
  outage?: { startedAt: string; endedAt: string };
}) {
  const timed = steps.filter((s) => s.step.startedAt);
  const starts = timed.map((s) => Date.parse(s.step.startedAt ?? ''));
  const ends = timed.map((s) => Date.parse(s.step.endedAt ?? s.step.startedAt ?? ''));
  const origin = Math.min(...starts);
  const span = Math.max(1, Math.max(...ends) - origin);
  const plot = WIDTH - LABEL - DURATION_LABEL;
  const x = (at: number) => LABEL + ((at - origin) / span) * plot;
  const height = steps.length * ROW + 30;

  if (timed.length === 0) return <p className="muted">No step has run yet.</p>;
  return (
    <figure className="timeline">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby="timeline-title">
        <title id="timeline-title">Upgrade steps on a time line, {formatDuration(span)} in all</title>
        {outage && (
          <rect
            className="outage"
            x={x(Date.parse(outage.startedAt))}
            y={0}
            width={Math.max(2, x(Date.parse(outage.endedAt)) - x(Date.parse(outage.startedAt)))}
            height={steps.length * ROW}
          >
            <title>Outage</title>
          </rect>
        )}
        {steps.map(({ name, step }, index) => {
          const y = index * ROW;
          const start = step.startedAt ? Date.parse(step.startedAt) : undefined;
          const end = step.endedAt ? Date.parse(step.endedAt) : start;
          return (
            <g key={name}>
              <text x={0} y={y + 17} className="label">
                {name}
              </text>
              {start !== undefined && end !== undefined && (
                <rect
                  x={x(start)}
                  y={y + 5}
                  width={Math.max(2, x(end) - x(start))}
                  height={ROW - 10}
                  className={`bar ${step.status}`}
                >
                  <title>
                    {name}: {formatDuration(step.durationMs)} ({step.status})
                  </title>
                </rect>
              )}
              <text x={WIDTH - DURATION_LABEL + 8} y={y + 17} className="duration">
                {formatDuration(step.durationMs)}
              </text>
            </g>
          );
        })}
        <line
          x1={LABEL}
          x2={LABEL + plot}
          y1={steps.length * ROW + 4}
          y2={steps.length * ROW + 4}
          className="axis"
        />
        <text x={LABEL} y={height - 4} className="tick">
          0 s
        </text>
        <text x={LABEL + plot} y={height - 4} className="tick" textAnchor="end">
          {formatDuration(span)}
        </text>
      </svg>
      <figcaption>
        Each bar is one step, from its start to its end{outage ? '; the shaded band is the outage' : ''}.
      </figcaption>
    </figure>
  );
}
