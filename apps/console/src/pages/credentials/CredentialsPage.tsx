import { Placeholder } from '../../components/Placeholder';

export function CredentialsPage() {
  return <Placeholder title="Credentials" api="/v1/credentials" />;
}
