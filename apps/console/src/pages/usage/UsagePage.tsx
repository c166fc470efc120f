import { Placeholder } from '../../components/Placeholder';

export function UsagePage() {
  return <Placeholder title="Usage" api="/v1/usage" />;
}
