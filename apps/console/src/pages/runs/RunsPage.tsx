import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import type { RunEventView, RunPage, RunSummary } from '@weft/contracts';
import { useCallback, useEffect, useEffectEvent, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import { followEvents } from '../../api/events';
import { applyRunEvent, listRuns, listWorkflows, runStatusOf } from '../../api/runs';
import { useApi } from '../../auth/session';
import { LiveIndicator, type LiveState } from '../../components/LiveIndicator';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorState, Loading } from '../../components/states';
import { shortId } from '../../format/ids';
import { RUN_STATUS_OPTIONS, StatusBadge, WaitingFor } from '../../components/status';
import { Duration, RelativeTime } from '../../components/time';

const PAGE_SIZE = 20;
/** New runs arrive in bursts: one reload of the page for all the runs of a burst. */
const RELOAD_DEBOUNCE_MS = 400;

/**
 * The tenant's runs, newest first, a page at a time (keyset paging: each page's cursor is
 * kept, so "Newer" goes back). Live: the tenant's event stream moves statuses in place, and
 * runs that are not on the page yet reload the first page (one list call, not one per run).
 */
export function RunsPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const status = params.get('status') ?? '';
  const workflowId = params.get('workflow') ?? '';
  /** Cursors of the pages before this one; the first page has none. */
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const firstPage = cursors.length === 0;

  const workflows = useQuery({
    queryKey: ['workflows', 'list'],
    queryFn: ({ signal }) => listWorkflows(api, signal),
  });
  const queryKey = ['runs', 'list', { status, workflowId, cursor }];
  const runs = useQuery({
    queryKey,
    queryFn: ({ signal }) =>
      listRuns(
        api,
        {
          limit: PAGE_SIZE,
          ...(status && { status }),
          ...(workflowId && { workflowId }),
          ...(cursor && { cursor }),
        },
        signal,
      ),
    // The page stays on screen while another page or filter loads.
    placeholderData: keepPreviousData,
  });

  const [live, setLive] = useState<LiveState>('connecting');
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const reloadSoon = useCallback(() => {
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(
      () => void queryClient.invalidateQueries({ queryKey: ['runs', 'list'] }),
      RELOAD_DEBOUNCE_MS,
    );
  }, [queryClient]);

  // Reads the page as it is when the event comes, without reconnecting the stream.
  const onRunEvent = useEffectEvent((event: RunEventView) => {
    if (!runStatusOf(event)) return;
    const page = queryClient.getQueryData<RunPage>(queryKey);
    const known = page?.items.some((run) => run.id === event.runId) ?? false;
    if (known) {
      queryClient.setQueryData<RunPage>(
        queryKey,
        (current) =>
          current && {
            ...current,
            items: current.items.map((run) =>
              run.id === event.runId ? applyRunEvent(run, event) : run,
            ),
          },
      );
    }
    // A new run belongs on the first page; a run that changed may leave a status filter.
    if ((!known && firstPage) || (known && status !== '')) reloadSoon();
  });

  useEffect(() => {
    const controller = new AbortController();
    void followEvents(api, '/v1/events', {
      query: { workflowId: workflowId || undefined },
      signal: controller.signal,
      onOpen: () => {
        setLive('live');
        // Events between two connections are not replayed: catch up with a reload.
        reloadSoon();
      },
      onError: () => setLive('offline'),
      onEvent: onRunEvent,
    });
    return () => {
      controller.abort();
      clearTimeout(reloadTimer.current);
    };
  }, [api, workflowId, reloadSoon]);

  const names = useMemo(
    () => new Map((workflows.data?.items ?? []).map((w) => [w.id, w.name])),
    [workflows.data],
  );

  const setFilter = (name: 'status' | 'workflow', value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next);
    setCursors([]);
  };

  return (
    <>
      <PageHeader title="Runs">
        <LiveIndicator state={live} />
      </PageHeader>
      <div className="filters" role="search" aria-label="Filter runs">
        <label>
          Status
          <select value={status} onChange={(event) => setFilter('status', event.target.value)}>
            <option value="">All statuses</option>
            {RUN_STATUS_OPTIONS.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        </label>
        <label>
          Workflow
          <select
            value={workflowId}
            onChange={(event) => setFilter('workflow', event.target.value)}
          >
            <option value="">All workflows</option>
            {(workflows.data?.items ?? []).map((workflow) => (
              <option key={workflow.id} value={workflow.id}>
                {workflow.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {runs.error && !runs.data ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : !runs.data ? (
        <Loading label="Loading runs…" />
      ) : runs.data.items.length === 0 ? (
        <Empty title={status || workflowId ? 'No runs match these filters.' : 'No runs yet.'}>
          Runs appear here as soon as they start.
        </Empty>
      ) : (
        <RunTable runs={runs.data.items} names={names} />
      )}
      {runs.data && (
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            disabled={firstPage}
            onClick={() => setCursors((list) => list.slice(0, -1))}
          >
            ← Newer
          </button>
          <button
            type="button"
            disabled={!runs.data.nextCursor || runs.isPlaceholderData}
            onClick={() => {
              const next = runs.data.nextCursor;
              if (next) setCursors((list) => [...list, next]);
            }}
          >
            Older →
          </button>
        </nav>
      )}
    </>
  );
}

function RunTable({ runs, names }: { runs: RunSummary[]; names: Map<string, string> }) {
  return (
    <table className="runs">
      <caption className="visually-hidden">Runs, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Status</th>
          <th scope="col">Run</th>
          <th scope="col">Workflow</th>
          <th scope="col">Created</th>
          <th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} data-run-id={run.id}>
            <td>
              <StatusBadge status={run.status} /> <WaitingFor reason={run.waitingFor} />
            </td>
            <td className="run-id">
              <Link href={`/runs/${run.id}`} aria-label={`Run ${run.id}`}>
                <code>{shortId(run.id)}</code>
              </Link>
              {run.parentRunId && <span className="tag">child</span>}
            </td>
            <td className="workflow">
              {names.get(run.workflowId) ?? <code>{shortId(run.workflowId)}</code>}
              <span className="muted"> v{run.workflowVersion}</span>
            </td>
            <td>
              <RelativeTime at={run.createdAt} />
            </td>
            <td>
              <Duration start={run.startedAt} end={run.finishedAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
