import { Placeholder } from '../../components/Placeholder';

export function WorkflowsPage() {
  return <Placeholder title="Workflows" api="/v1/workflows" />;
}
