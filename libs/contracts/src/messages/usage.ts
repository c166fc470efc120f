import { z } from 'zod';
import { TenantScoped } from './common';

/** A calendar month in UTC, as `2026-12`. */
export const Month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'expected a month as YYYY-MM' });
export type Month = z.infer<typeof Month>;

/** The current UTC month, as `Month`. */
export const monthOf = (at: Date): Month => at.toISOString().slice(0, 7);

/** Tokens a tenant may spend on AI calls in a UTC month; a call that would pass it is refused. */
export const Budget = z.strictObject({
  /** Input and output tokens together; null removes the budget. */
  monthlyTokens: z.int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
});
export type Budget = z.infer<typeof Budget>;

export const PutBudget = TenantScoped.extend(Budget.shape);
export type PutBudget = z.infer<typeof PutBudget>;

export const GetUsage = TenantScoped.extend({ month: Month });
export type GetUsage = z.infer<typeof GetUsage>;

const Tokens = {
  calls: z.int(),
  inputTokens: z.int(),
  outputTokens: z.int(),
};

/** The token ledger of one tenant and month. */
export const UsageReport = z.object({
  month: Month,
  monthlyTokens: z.int().nullable(),
  /** Input and output tokens booked this month. */
  tokens: z.int(),
  /** Held by calls in flight (this month only), settled when they answer. */
  reservedTokens: z.int(),
  /** What calls may still spend; null without a budget. */
  remainingTokens: z.int().nullable(),
  byModel: z.array(z.object({ provider: z.string(), model: z.string(), ...Tokens })),
  /** `workflowId` is null for calls booked before workflows were recorded. */
  byWorkflow: z.array(z.object({ workflowId: z.uuid().nullable(), ...Tokens })),
});
export type UsageReport = z.infer<typeof UsageReport>;
