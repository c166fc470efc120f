import { formatDuration, formatInstant } from '../../format/time';
import { useNow } from '../../components/time';
import type { DefinedStep } from '../../api/definition';
import type { Segment } from './timeline';

const LABEL: Record<Segment['kind'], string> = {
  attempt: 'attempt',
  waiting: 'waiting',
  backoff: 'retry pause',
};

/**
 * Each step's attempts, waits and retry pauses on one time axis, from the run's start to its end
 * (or now). Every bar also says in words what it is and how long it took.
 */
export function Timeline({
  steps,
  segments,
  start,
  end,
}: {
  steps: DefinedStep[];
  segments: Segment[];
  start: string | null;
  end: string | null;
}) {
  const now = useNow(end ? 60_000 : 1000);
  if (!start || segments.length === 0) {
    return <p className="muted">No step has started yet.</p>;
  }
  const from = new Date(start).getTime();
  const until = Math.max(end ? new Date(end).getTime() : now, from + 1);
  const span = until - from;
  const at = (iso: string | null) => (iso ? new Date(iso).getTime() : until);
  const rows = steps.filter((step) => segments.some((s) => s.stepId === step.id));
  return (
    <div className="timeline">
      <div className="timeline-axis" aria-hidden="true">
        <span>0</span>
        <span>{formatDuration(span / 2)}</span>
        <span>{formatDuration(span)}</span>
      </div>
      <ol className="timeline-rows" aria-label="Timeline of step attempts">
        {rows.map((step) => (
          <li key={step.id} className="timeline-row">
            <span className="timeline-step">{step.id}</span>
            <ul className="timeline-track">
              {segments
                .filter((segment) => segment.stepId === step.id)
                .map((segment, index) => {
                  const left = ((at(segment.start) - from) / span) * 100;
                  const ms = at(segment.end) - at(segment.start);
                  const width = Math.max((ms / span) * 100, 0.6);
                  const outcome = segment.end ? (segment.outcome ?? '') : 'in progress';
                  const text = `${LABEL[segment.kind]} ${segment.attempt}: ${formatDuration(ms)}${
                    outcome ? `, ${outcome}` : ''
                  }${segment.error ? ` (${segment.error.code})` : ''}`;
                  return (
                    <li
                      key={index}
                      className={`bar ${segment.kind} ${segment.outcome ?? ''}${segment.end ? '' : ' open'}`}
                      style={{ left: `${Math.min(left, 99.4)}%`, width: `${width}%` }}
                      title={`${text} — from ${formatInstant(segment.start)}`}
                    >
                      <span className="visually-hidden">{text}</span>
                    </li>
                  );
                })}
            </ul>
          </li>
        ))}
      </ol>
      <p className="timeline-legend muted small">
        <span className="swatch attempt" aria-hidden="true" /> attempt
        <span className="swatch waiting" aria-hidden="true" /> waiting
        <span className="swatch backoff" aria-hidden="true" /> retry pause
      </p>
    </div>
  );
}
