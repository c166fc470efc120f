import type { ServiceDatabase } from '@weft/persistence';
import { CreateSchema1763900000000 } from './migrations/1763900000000-create-schema';
import { CreateCredentials1764000000000 } from './migrations/1764000000000-create-credentials';
import { CredentialUpdatedAt1764700000000 } from './migrations/1764700000000-credential-updated-at';

/** The integration service's own PostgreSQL schema. */
export const integrationDatabase: ServiceDatabase = {
  schema: 'integration',
  migrations: [
    CreateSchema1763900000000,
    CreateCredentials1764000000000,
    CredentialUpdatedAt1764700000000,
  ],
};
