import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { WorkflowView } from '@weft/contracts';
import { useState } from 'react';
import { Link } from 'wouter';
import { describeTrigger, descriptionOf, listWorkflowPage, triggersOf } from '../../api/workflows';
import { useApi } from '../../auth/session';
import { PageHeader } from '../../components/PageHeader';
import { Empty, ErrorState, Loading } from '../../components/states';
import { RelativeTime } from '../../components/time';

const PAGE_SIZE = 20;

/**
 * The tenant's active workflows, newest first, a page at a time: keyset paging with the API's
 * cursor (each page's cursor is kept, so "Newer" goes back), one list call per page.
 */
export function WorkflowsPage() {
  const api = useApi();
  /** Cursors of the pages before this one; the first page has none. */
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const workflows = useQuery({
    queryKey: ['workflows', 'page', { cursor }],
    queryFn: ({ signal }) =>
      listWorkflowPage(api, { limit: PAGE_SIZE, ...(cursor && { cursor }) }, signal),
    placeholderData: keepPreviousData,
  });

  return (
    <>
      <PageHeader title="Workflows" />
      {workflows.error && !workflows.data ? (
        <ErrorState error={workflows.error} onRetry={() => void workflows.refetch()} />
      ) : !workflows.data ? (
        <Loading label="Loading workflows…" />
      ) : workflows.data.items.length === 0 ? (
        <Empty title="No workflows yet.">
          Save one with <code>POST /v1/workflows</code> (see <code>examples/</code> and
          docs/reference/definitions.md); it appears here.
        </Empty>
      ) : (
        <WorkflowTable workflows={workflows.data.items} />
      )}
      {workflows.data && (cursors.length > 0 || workflows.data.nextCursor) && (
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            disabled={cursors.length === 0}
            onClick={() => setCursors((list) => list.slice(0, -1))}
          >
            ← Newer
          </button>
          <button
            type="button"
            disabled={!workflows.data.nextCursor || workflows.isPlaceholderData}
            onClick={() => {
              const next = workflows.data.nextCursor;
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

function WorkflowTable({ workflows }: { workflows: WorkflowView[] }) {
  return (
    <div className="table-scroll">
      <table className="data">
        <caption className="visually-hidden">Workflows, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Version</th>
            <th scope="col">Triggers</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {workflows.map((workflow) => {
            const triggers = triggersOf(workflow.definition);
            const description = descriptionOf(workflow.definition);
            return (
              <tr key={workflow.id} data-workflow-id={workflow.id}>
                <td className="wrap">
                  <Link href={`/workflows/${workflow.id}`}>{workflow.name}</Link>
                  {description && <div className="muted small clamp">{description}</div>}
                </td>
                <td>v{workflow.version}</td>
                <td className="wrap">
                  {triggers.length === 0 ? (
                    <span className="muted">API only</span>
                  ) : (
                    <ul className="plain">
                      {triggers.map((trigger, index) => (
                        <li key={index}>{describeTrigger(trigger)}</li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  <RelativeTime at={workflow.updatedAt} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
