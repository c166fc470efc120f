import { PageHeader } from './PageHeader';
import { Empty } from './states';

/** A page that is planned but not built yet. */
export function Placeholder({ title, api }: { title: string; api: string }) {
  return (
    <>
      <PageHeader title={title} />
      <Empty title="This page is coming soon.">
        Meanwhile, the API has it: <code>{api}</code> (see docs/reference/api.md).
      </Empty>
    </>
  );
}
