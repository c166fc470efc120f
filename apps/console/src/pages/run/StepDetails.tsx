import type { RunSummary, StepView } from '@weft/contracts';
import { Link } from 'wouter';
import { StatusBadge } from '../../components/status';
import { Duration, RelativeTime } from '../../components/time';
import { shortId } from '../../format/ids';
import type { DefinedStep } from '../../api/definition';

/** A JSON value as indented text, scrolled when long. */
function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {value === undefined ? '—' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

/**
 * One step in full: status, attempts, times, its `with` as the definition has it, its output,
 * its error, what it waits for, a foreach's item counts and the run's child runs.
 */
export function StepDetails({
  stepId,
  step,
  defined,
  childRuns,
}: {
  stepId: string;
  step: StepView | undefined;
  defined: DefinedStep | undefined;
  childRuns: RunSummary[];
}) {
  const status = step?.status ?? 'pending';
  const waiting = step?.waiting;
  return (
    <section className="section step-details card" aria-labelledby="step-title">
      <div className="step-details-head">
        <h2 id="step-title">
          Step <code>{stepId}</code>
        </h2>
        <StatusBadge status={status} />
      </div>
      <dl className="facts">
        <div>
          <dt>Type</dt>
          <dd>{step?.type ?? defined?.type ?? '—'}</dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>{step?.attempts ?? 0}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>
            <RelativeTime at={step?.startedAt} />
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            <Duration start={step?.startedAt} end={step?.finishedAt} />
          </dd>
        </div>
        {defined && defined.needs.length > 0 && (
          <div>
            <dt>Needs</dt>
            <dd>{defined.needs.join(', ')}</dd>
          </div>
        )}
      </dl>

      {step?.error && (
        <div className="step-error" role="note" aria-label="Step error">
          <strong>{step.error.code}</strong>: {step.error.message}
          {step.error.retryable && <span className="muted"> (retryable)</span>}
        </div>
      )}

      {waiting?.kind === 'wait' && (
        <p>
          Waiting until <RelativeTime at={waiting.until} />.
        </p>
      )}
      {waiting?.kind === 'run' && (
        <p>
          Waiting for the child run{' '}
          <Link href={`/runs/${waiting.runId}`}>
            <code>{shortId(waiting.runId)}</code>
          </Link>
          .
        </p>
      )}
      {waiting?.kind === 'approval' && (
        <p>Waiting for a decision{waiting.message ? `: “${waiting.message}”` : ''} (see above).</p>
      )}

      {step?.items && (
        <div className="items">
          <h3>Items</h3>
          <ul className="item-counts" aria-label="Item counts">
            <li>{step.items.total} total</li>
            <li className="tone-success">{step.items.succeeded} succeeded</li>
            <li className="tone-danger">{step.items.failed} failed</li>
            <li className="tone-info">{step.items.running} running</li>
            <li className="tone-neutral">{step.items.pending} pending</li>
          </ul>
          {step.items.errors.length > 0 && (
            <ul className="item-errors">
              {step.items.errors.map((error) => (
                <li key={error.index}>
                  Item {error.index}: <code>{error.code}</code> {error.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}

      {(defined?.type === 'foreach' || defined?.type === 'workflow.run') &&
        childRuns.length > 0 && (
          <div className="children">
            <h3>Child runs of this run</h3>
            <ul aria-label="Child runs">
              {childRuns.map((child) => (
                <li key={child.id}>
                  <Link href={`/runs/${child.id}`}>
                    <code>{shortId(child.id)}</code>
                  </Link>{' '}
                  <StatusBadge status={child.status} />
                </li>
              ))}
            </ul>
          </div>
        )}

      <div className="io">
        <div>
          <h3>Input (with, as defined)</h3>
          <Json value={defined?.with} label={`with of ${stepId}`} />
        </div>
        <div>
          <h3>Output</h3>
          <Json value={step?.output ?? undefined} label={`Output of ${stepId}`} />
        </div>
      </div>
      <p className="muted small">
        The input is the step’s <code>with</code> as the definition has it: its expressions are
        evaluated when the step starts.
      </p>
    </section>
  );
}
