import type { ServiceDatabase } from '@weft/persistence';
import { CreateSchema1763900000000 } from './migrations/1763900000000-create-schema';
import { CreateUsage1764000000000 } from './migrations/1764000000000-create-usage';
import { TokenBudgets1765300000000 } from './migrations/1765300000000-token-budgets';

/** The ai service's own PostgreSQL schema. */
export const aiDatabase: ServiceDatabase = {
  schema: 'ai',
  migrations: [CreateSchema1763900000000, CreateUsage1764000000000, TokenBudgets1765300000000],
};
