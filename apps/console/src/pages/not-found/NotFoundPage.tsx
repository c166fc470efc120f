import { Link } from 'wouter';
import { PageHeader } from '../../components/PageHeader';
import { Empty } from '../../components/states';
import { HOME } from '../../routes';

export function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" />
      <Empty title="There is no page at this address.">
        <Link href={HOME}>Go to the runs</Link>
      </Empty>
    </>
  );
}
