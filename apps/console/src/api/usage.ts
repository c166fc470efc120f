import type { Budget, UsageReport } from '@weft/contracts';
import type { ApiClient } from './client';

/** The token ledger of a UTC month (`YYYY-MM`). */
export const getUsage = (api: ApiClient, month: string, signal?: AbortSignal) =>
  api.get<UsageReport>('/v1/usage', { query: { month }, ...(signal && { signal }) });

/** Sets the monthly token budget; null removes it. Answers the budget in force. */
export const putBudget = (api: ApiClient, budget: Budget) => api.put<Budget>('/v1/budgets', budget);

/** The UTC month of `at` as the API names months (monthOf of the contracts, which bring zod). */
export const utcMonthOf = (at: Date): string => at.toISOString().slice(0, 7);
