import { Placeholder } from '../../components/Placeholder';

export function ApiKeysPage() {
  return <Placeholder title="API keys" api="/v1/api-keys" />;
}
