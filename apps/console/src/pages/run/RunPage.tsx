import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { RunEventView, RunView, StepStatus } from '@weft/contracts';
import { useCallback, useEffect, useEffectEvent, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'wouter';
import { followEvents } from '../../api/events';
import {
  applyRunEvent,
  applyStepEvent,
  cancelRun,
  decideApproval,
  getRun,
  listRuns,
  retryRun,
} from '../../api/runs';
import { getWorkflowVersion } from '../../api/workflows';
import { useApi } from '../../auth/session';
import { LiveIndicator, type LiveState } from '../../components/LiveIndicator';
import { PageHeader } from '../../components/PageHeader';
import { ErrorMessage, ErrorState, Loading } from '../../components/states';
import { shortId } from '../../format/ids';
import { StatusBadge, WaitingFor } from '../../components/status';
import { Duration, RelativeTime } from '../../components/time';
import { stepsOf } from '../../api/definition';
import { StepDetails } from './StepDetails';
import { StepGraph } from '../../components/StepGraph';
import { Timeline } from './Timeline';
import { segmentsOf } from './timeline';

/** Step events come in bursts; the run (outputs, item counts) is read once per burst. */
const REFRESH_DEBOUNCE_MS = 300;

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** The newest instant a run view records (ISO strings of one clock compare as text). */
function latestInstant(run: RunView): string {
  const instants = [run.createdAt, run.startedAt, run.finishedAt];
  for (const step of run.steps) instants.push(step.startedAt, step.finishedAt);
  return instants.reduce<string>((latest, at) => (at && at > latest ? at : latest), '');
}

/**
 * One run: its step DAG coloured by status, a timeline of attempts, each step's details, and
 * the actions that apply (cancel, retry, approve or reject). Live through the run's event
 * stream, which replays the run's history first (the timeline is built from it).
 */
export function RunPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const { id } = useParams<{ id: string }>();
  const runKey = useMemo(() => ['runs', 'one', id], [id]);
  const run = useQuery({ queryKey: runKey, queryFn: ({ signal }) => getRun(api, id, signal) });
  const workflowId = run.data?.workflowId;
  const version = run.data?.workflowVersion;
  const workflow = useQuery({
    queryKey: ['workflows', workflowId, 'versions', version],
    queryFn: ({ signal }) => getWorkflowVersion(api, workflowId!, version!, signal),
    enabled: Boolean(workflowId && version),
    staleTime: Infinity, // a saved version never changes
  });
  const children = useQuery({
    queryKey: ['runs', 'list', { parentRunId: id }],
    queryFn: ({ signal }) => listRuns(api, { parentRunId: id, limit: 100 }, signal),
  });

  // The history, by seq: the stream replays it, and resumes after the last one it sent.
  const [events, setEvents] = useState<Map<number, RunEventView>>(() => new Map());
  const [live, setLive] = useState<LiveState>('connecting');
  /** Bumped by a retry: the run's stream ended with the failure and starts again. */
  const [streamGeneration, setStreamGeneration] = useState(0);

  const refreshTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const refreshSoon = useCallback(() => {
    clearTimeout(refreshTimer.current);
    refreshTimer.current = setTimeout(() => {
      void queryClient.invalidateQueries({ queryKey: runKey });
      void queryClient.invalidateQueries({ queryKey: ['runs', 'list', { parentRunId: id }] });
    }, REFRESH_DEBOUNCE_MS);
  }, [queryClient, runKey, id]);

  const onEvent = useEffectEvent((event: RunEventView) => {
    setEvents((current) => new Map(current).set(event.seq, event));
    // The replayed history is older than the run as read: only newer events change it.
    queryClient.setQueryData<RunView>(runKey, (current) =>
      current && event.at >= latestInstant(current)
        ? applyStepEvent(applyRunEvent(current, event), event)
        : current,
    );
    refreshSoon();
  });

  useEffect(() => {
    const controller = new AbortController();
    void followEvents(api, `/v1/runs/${encodeURIComponent(id)}/events`, {
      signal: controller.signal,
      onOpen: () => setLive('live'),
      onError: () => setLive('offline'),
      onEvent,
      // The stream ends at a run's end. Replaying the history of a retried run, it ends at
      // the earlier failure: resuming after it goes on. A resumption with nothing to send
      // means the run has ended.
      reconnectAfterEnd: (delivered) => {
        if (delivered > 0) return true;
        setLive('ended');
        return false;
      },
    });
    return () => {
      controller.abort();
      clearTimeout(refreshTimer.current);
    };
  }, [api, id, streamGeneration]);

  const afterCommand = (next?: RunView) => {
    if (next) queryClient.setQueryData(runKey, next);
    refreshSoon();
  };
  const cancel = useMutation({
    mutationFn: () => cancelRun(api, id),
    onSuccess: () => afterCommand(),
  });
  const retry = useMutation({
    mutationFn: () => retryRun(api, id),
    onSuccess: () => {
      setLive('connecting');
      setStreamGeneration((n) => n + 1);
      afterCommand();
    },
  });
  const decide = useMutation({
    mutationFn: ({ stepId, decision }: { stepId: string; decision: 'approve' | 'reject' }) =>
      decideApproval(api, id, stepId, decision),
    onSuccess: afterCommand,
  });

  const steps = useMemo(() => stepsOf(workflow.data?.definition), [workflow.data]);
  const segments = useMemo(
    () => segmentsOf([...events.values()].sort((a, b) => a.seq - b.seq)),
    [events],
  );
  const [selected, setSelected] = useState<string | null>(null);

  if (run.error && !run.data) {
    return <ErrorState error={run.error} onRetry={() => void run.refetch()} />;
  }
  if (!run.data) return <Loading label="Loading the run…" />;
  const view = run.data;
  const stepById = new Map(view.steps.map((step) => [step.id, step]));
  const statusOf = (stepId: string): StepStatus => stepById.get(stepId)?.status ?? 'pending';
  const commandError = cancel.error ?? retry.error ?? decide.error;
  const waitingApprovals = view.steps.filter((step) => step.waiting?.kind === 'approval');
  const selectedStep = selected ?? view.error?.stepId ?? waitingApprovals[0]?.id ?? null;
  const name = workflow.data?.name;

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/runs">Runs</Link> <span aria-hidden="true">/</span>{' '}
        <code>{shortId(view.id)}</code>
      </nav>
      <PageHeader
        title={
          <>
            {name ?? 'Run'} <span className="muted">v{view.workflowVersion}</span>
          </>
        }
      >
        <LiveIndicator state={live} />
        <span role="status" aria-label={`Run status: ${view.status}`}>
          <StatusBadge status={view.status} />
        </span>
        <WaitingFor reason={view.waitingFor} />
        {!TERMINAL.has(view.status) && (
          <button
            type="button"
            className="danger"
            disabled={cancel.isPending}
            onClick={() => cancel.mutate()}
          >
            Cancel run
          </button>
        )}
        {view.status === 'failed' && (
          <button
            type="button"
            className="primary"
            disabled={retry.isPending}
            onClick={() => retry.mutate()}
          >
            Retry run
          </button>
        )}
      </PageHeader>
      {commandError && <ErrorMessage error={commandError} />}

      {waitingApprovals.map((step) => (
        <section key={step.id} className="approval card" aria-label={`Approval ${step.id}`}>
          <div>
            <h2>Approval needed: {step.id}</h2>
            {step.waiting?.kind === 'approval' && (
              <p className="muted">
                {step.waiting.message ?? 'This step waits for a decision.'} Expires{' '}
                <RelativeTime at={step.waiting.expiresAt} />.
              </p>
            )}
          </div>
          <div className="actions">
            <button
              type="button"
              className="primary"
              disabled={decide.isPending}
              onClick={() => decide.mutate({ stepId: step.id, decision: 'approve' })}
            >
              Approve
            </button>
            <button
              type="button"
              className="danger"
              disabled={decide.isPending}
              onClick={() => decide.mutate({ stepId: step.id, decision: 'reject' })}
            >
              Reject
            </button>
          </div>
        </section>
      ))}

      <dl className="facts card">
        <div>
          <dt>Run</dt>
          <dd>
            <code>{view.id}</code>
          </dd>
        </div>
        <div>
          <dt>Workflow</dt>
          <dd>
            <Link href={`/runs?workflow=${view.workflowId}`}>{name ?? view.workflowId}</Link>
          </dd>
        </div>
        <div>
          <dt>Trigger</dt>
          <dd>{view.trigger.type}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <RelativeTime at={view.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            <Duration start={view.startedAt} end={view.finishedAt} />
          </dd>
        </div>
        {view.parentRunId && (
          <div>
            <dt>Parent run</dt>
            <dd>
              <Link href={`/runs/${view.parentRunId}`} aria-label="Parent run">
                <code>{shortId(view.parentRunId)}</code>
              </Link>
            </dd>
          </div>
        )}
      </dl>
      {view.error && (
        <div className="run-error">
          <ErrorMessage
            error={
              new Error(
                `${view.error.stepId ? `Step ${view.error.stepId} failed` : 'The run failed'}: ${view.error.code} — ${view.error.message}`,
              )
            }
          />
        </div>
      )}

      <section className="section" aria-labelledby="graph-title">
        <h2 id="graph-title">Steps</h2>
        {workflow.error ? (
          <ErrorMessage error={workflow.error} />
        ) : !workflow.data ? (
          <Loading label="Loading the workflow…" />
        ) : (
          <StepGraph
            steps={steps}
            statusOf={statusOf}
            selected={selectedStep}
            onSelect={setSelected}
          />
        )}
      </section>

      {selectedStep && (
        <StepDetails
          key={selectedStep}
          step={stepById.get(selectedStep)}
          defined={steps.find((step) => step.id === selectedStep)}
          stepId={selectedStep}
          childRuns={children.data?.items ?? []}
        />
      )}

      <section className="section" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <Timeline
          steps={steps}
          segments={segments}
          start={view.startedAt}
          end={TERMINAL.has(view.status) ? view.finishedAt : null}
        />
      </section>
    </>
  );
}
