import type { ServiceDatabase } from '@weft/persistence';
import { CreateSchema1763900000000 } from './migrations/1763900000000-create-schema';
import { CreateTenantsAndApiKeys1764100000000 } from './migrations/1764100000000-create-tenants-and-api-keys';
import { ApiKeyNamesScopesExpiry1765400000000 } from './migrations/1765400000000-api-key-names-scopes-expiry';
import { TenantLimits1765500000000 } from './migrations/1765500000000-tenant-limits';

/** The gateway's own PostgreSQL schema: tenants, their limits and their API keys live here. */
export const gatewayDatabase: ServiceDatabase = {
  schema: 'gateway',
  migrations: [
    CreateSchema1763900000000,
    CreateTenantsAndApiKeys1764100000000,
    ApiKeyNamesScopesExpiry1765400000000,
    TenantLimits1765500000000,
  ],
};
