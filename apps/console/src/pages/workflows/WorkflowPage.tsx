import { useQuery } from '@tanstack/react-query';
import type { RunSummary, ScheduleView, WorkflowView } from '@weft/contracts';
import { Link, useParams, useSearchParams } from 'wouter';
import { stepsOf } from '../../api/definition';
import { listRuns } from '../../api/runs';
import {
  describeTrigger,
  descriptionOf,
  getWorkflow,
  getWorkflowVersion,
  listSchedules,
  triggersOf,
  type DefinedTrigger,
} from '../../api/workflows';
import { useApi } from '../../auth/session';
import { PageHeader } from '../../components/PageHeader';
import { StepGraph } from '../../components/StepGraph';
import { ErrorMessage, ErrorState, Loading } from '../../components/states';
import { StatusBadge } from '../../components/status';
import { Duration, RelativeTime } from '../../components/time';
import { formatInstant } from '../../format/time';
import { RunForm } from './RunForm';

const RECENT_RUNS = 10;

/**
 * One workflow: its versions (the latest unless `?version=` picks another), the steps, the
 * triggers with the next schedule slots, its recent runs, the definition as saved, and the form
 * that starts a run of the latest version.
 */
export function WorkflowPage() {
  const api = useApi();
  const { id } = useParams<{ id: string }>();
  const [params, setParams] = useSearchParams();
  const latest = useQuery({
    queryKey: ['workflows', id],
    queryFn: ({ signal }) => getWorkflow(api, id, signal),
  });
  const latestVersion = latest.data?.version;
  const asked = Number(params.get('version'));
  // A version the workflow does not have (yet) shows the latest.
  const picked =
    latestVersion !== undefined && Number.isInteger(asked) && asked >= 1 && asked < latestVersion
      ? asked
      : latestVersion;
  const older = picked !== latestVersion;
  const version = useQuery({
    queryKey: ['workflows', id, 'versions', picked],
    queryFn: ({ signal }) => getWorkflowVersion(api, id, picked!, signal),
    enabled: older,
  });

  if (latest.error && !latest.data) {
    return (
      <>
        <PageHeader title="Workflow" />
        <ErrorState error={latest.error} onRetry={() => void latest.refetch()} />
        <p>
          <Link href="/workflows">← All workflows</Link>
        </p>
      </>
    );
  }
  if (!latest.data) return <Loading label="Loading the workflow…" />;
  const workflow = older ? version.data : latest.data;

  const pickVersion = (value: number) => {
    const next = new URLSearchParams(params);
    if (value === latestVersion) next.delete('version');
    else next.set('version', String(value));
    setParams(next);
  };

  return (
    <>
      <p className="breadcrumb">
        <Link href="/workflows">← Workflows</Link>
      </p>
      <PageHeader
        title={
          <>
            {latest.data.name}
            {latest.data.archivedAt && <span className="tag">archived</span>}
          </>
        }
      >
        <div className="inline-field">
          <label htmlFor="workflow-version">Version</label>
          <select
            id="workflow-version"
            value={picked}
            onChange={(event) => pickVersion(Number(event.target.value))}
          >
            {Array.from(
              { length: latest.data.version },
              (_, index) => latest.data.version - index,
            ).map((v) => (
              <option key={v} value={v}>
                v{v}
                {v === latest.data.version ? ' (latest)' : ''}
              </option>
            ))}
          </select>
        </div>
      </PageHeader>
      <div className="workflow-layout">
        <div className="workflow-main">
          {older && version.error ? (
            <ErrorState error={version.error} onRetry={() => void version.refetch()} />
          ) : !workflow ? (
            <Loading label={`Loading version ${picked}…`} />
          ) : (
            <VersionDetails workflow={workflow} latest={!older} />
          )}
        </div>
        <aside className="workflow-side">
          <RunForm workflow={latest.data} />
          <RecentRuns workflowId={id} />
        </aside>
      </div>
    </>
  );
}

function VersionDetails({ workflow, latest }: { workflow: WorkflowView; latest: boolean }) {
  const description = descriptionOf(workflow.definition);
  const steps = stepsOf(workflow.definition);
  return (
    <>
      <section className="card" aria-labelledby="version-title">
        <h2 id="version-title">Version {workflow.version}</h2>
        {description && <p>{description}</p>}
        <p className="muted small">
          Saved <RelativeTime at={workflow.createdAt} />
          {!latest && ' — runs start the latest version, not this one.'}
        </p>
      </section>
      <section className="card" aria-labelledby="steps-title">
        <h2 id="steps-title">Steps</h2>
        <StepGraph steps={steps} />
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Steps">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Type</th>
                <th scope="col">Needs</th>
              </tr>
            </thead>
            <tbody>
              {steps.map((step) => (
                <tr key={step.id}>
                  <td>
                    <code>{step.id}</code>
                  </td>
                  <td>
                    <code>{step.type}</code>
                  </td>
                  <td className="wrap">
                    {step.needs.length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      step.needs.map((need, index) => (
                        <span key={need}>
                          {index > 0 && ', '}
                          <code>{need}</code>
                        </span>
                      ))
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <Triggers workflow={workflow} latest={latest} />
      <section className="card" aria-labelledby="definition-title">
        <h2 id="definition-title">Definition</h2>
        <pre className="code-block definition" tabIndex={0} aria-label="Definition (JSON)">
          {JSON.stringify(workflow.definition, null, 2)}
        </pre>
      </section>
    </>
  );
}

/** The triggers of a version; the schedules of the latest one with their slots (one call). */
function Triggers({ workflow, latest }: { workflow: WorkflowView; latest: boolean }) {
  const api = useApi();
  const triggers = triggersOf(workflow.definition);
  const hasSchedule = latest && triggers.some((trigger) => trigger.type === 'schedule');
  const schedules = useQuery({
    queryKey: ['workflows', workflow.id, 'schedules'],
    queryFn: ({ signal }) => listSchedules(api, workflow.id, signal),
    enabled: hasSchedule,
  });
  const byIndex = new Map((schedules.data?.items ?? []).map((item) => [item.index, item]));
  return (
    <section className="card" aria-labelledby="triggers-title">
      <h2 id="triggers-title">Triggers</h2>
      {triggers.length === 0 ? (
        <p className="muted">
          None: runs start through the API (<code>POST /v1/workflows/{'{id}'}/runs</code>) or the
          Run form.
        </p>
      ) : (
        <ul className="trigger-list">
          {triggers.map((trigger, index) => (
            <li key={index}>
              <TriggerLine trigger={trigger} />
              {trigger.type === 'schedule' &&
                (!latest ? (
                  <p className="muted small">
                    Slots are shown for the latest version, whose triggers are the ones that fire.
                  </p>
                ) : schedules.error ? (
                  <ErrorMessage error={schedules.error} />
                ) : !schedules.data ? (
                  <Loading label="Loading the schedule…" />
                ) : byIndex.get(index) ? (
                  <ScheduleDetails schedule={byIndex.get(index)!} />
                ) : null)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function TriggerLine({ trigger }: { trigger: DefinedTrigger }) {
  return (
    <p className="trigger-line">
      <span className="tag">{trigger.type}</span> <code>{describeTrigger(trigger)}</code>
      {trigger.type === 'webhook' && (
        <span className="muted small">
          {' '}
          {trigger.secret ? `signed with ${trigger.secret}` : 'unsigned (auth: none)'}
        </span>
      )}
      {trigger.type === 'event' && <span className="muted small"> on {trigger.credential}</span>}
    </p>
  );
}

function ScheduleDetails({ schedule }: { schedule: ScheduleView }) {
  return (
    <div className="schedule">
      <p className="small">
        Overlap <code>{schedule.overlap}</code>, catch-up <code>{schedule.catchUp}</code>. Fired{' '}
        {schedule.fired}, skipped {schedule.skipped}, missed {schedule.missed}, late {schedule.late}
        .
      </p>
      <p className="small">
        Last fired:{' '}
        {schedule.lastFiredAt ? (
          <>
            <RelativeTime at={schedule.lastFiredAt} />
            {schedule.lastRunId && (
              <>
                {' '}
                (<Link href={`/runs/${schedule.lastRunId}`}>its run</Link>)
              </>
            )}
          </>
        ) : (
          <span className="muted">never</span>
        )}
      </p>
      <h3 className="small">Next slots</h3>
      {schedule.nextSlots.length === 0 ? (
        <p className="muted small">None.</p>
      ) : (
        <ol className="slots small">
          {schedule.nextSlots.map((slot) => (
            <li key={slot}>
              <time dateTime={slot}>{formatInstant(slot)}</time>{' '}
              <span className="muted">
                (<RelativeTime at={slot} />)
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** The workflow's latest runs: one list call. */
function RecentRuns({ workflowId }: { workflowId: string }) {
  const api = useApi();
  const runs = useQuery({
    queryKey: ['runs', 'list', { workflowId, limit: RECENT_RUNS }],
    queryFn: ({ signal }) => listRuns(api, { workflowId, limit: RECENT_RUNS }, signal),
  });
  return (
    <section className="card" aria-labelledby="recent-runs-title">
      <h2 id="recent-runs-title">Recent runs</h2>
      {runs.error && !runs.data ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : !runs.data ? (
        <Loading label="Loading runs…" />
      ) : runs.data.items.length === 0 ? (
        <p className="muted">No runs yet.</p>
      ) : (
        <>
          <ul className="recent-runs">
            {runs.data.items.map((run: RunSummary) => (
              <li key={run.id}>
                <StatusBadge status={run.status} />
                <Link href={`/runs/${run.id}`} aria-label={`Run ${run.id}`}>
                  <code>{run.id.slice(0, 8)}</code>
                </Link>
                <span className="muted small">v{run.workflowVersion}</span>
                <span className="small">
                  <RelativeTime at={run.createdAt} />
                </span>
                <span className="muted small">
                  <Duration start={run.startedAt} end={run.finishedAt} />
                </span>
              </li>
            ))}
          </ul>
          <p className="small">
            <Link href={`/runs?workflow=${workflowId}`}>All runs of this workflow →</Link>
          </p>
        </>
      )}
    </section>
  );
}
