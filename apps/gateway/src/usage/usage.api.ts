import { Budget, Month, UsageReport } from '@weft/contracts';
import { z } from 'zod';
import { named, type ApiOperation } from '../openapi/api-operation';

export const UsageQuery = z.strictObject({
  /** The UTC month; the current one when absent. */
  month: Month.optional(),
});
export type UsageQuery = z.infer<typeof UsageQuery>;

const tag = 'usage';

export const usageOperations: ApiOperation[] = [
  {
    method: 'PUT',
    path: '/v1/budgets',
    operationId: 'putBudget',
    summary:
      'Set the monthly token budget of AI calls (null removes it); a call that could pass it fails with budget_exceeded before it is sent',
    tag,
    security: 'apiKey',
    body: named('BudgetRequest', Budget),
    responses: { 200: { description: 'The budget in force', body: named('Budget', Budget) } },
    problems: [400, 413, 415, 503],
  },
  {
    method: 'GET',
    path: '/v1/usage',
    operationId: 'getUsage',
    summary: 'Tokens of AI calls in a UTC month, by model and by workflow, and the budget left',
    tag,
    security: 'apiKey',
    query: UsageQuery,
    responses: {
      200: { description: 'The month’s ledger', body: named('UsageReport', UsageReport) },
    },
    problems: [400, 503],
  },
];
