import { useQuery } from '@tanstack/react-query';
import { useParams } from 'wouter';
import { getRun } from '../../api/runs';
import { useApi } from '../../auth/session';
import { PageHeader } from '../../components/PageHeader';
import { ErrorState, Loading } from '../../components/states';
import { StatusBadge } from '../../components/status';

export function RunPage() {
  const api = useApi();
  const { id } = useParams<{ id: string }>();
  const run = useQuery({
    queryKey: ['runs', id],
    queryFn: ({ signal }) => getRun(api, id, signal),
  });
  if (run.error && !run.data) {
    return <ErrorState error={run.error} onRetry={() => void run.refetch()} />;
  }
  if (!run.data) return <Loading label="Loading the run…" />;
  return (
    <>
      <PageHeader title={`Run ${run.data.id.slice(0, 8)}`}>
        <StatusBadge status={run.data.status} />
      </PageHeader>
    </>
  );
}
