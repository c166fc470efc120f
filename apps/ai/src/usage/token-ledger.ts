import { randomUUID } from 'node:crypto';
import type { Budget, Month, UsageReport } from '@weft/contracts';
import type { DataSource, EntityManager } from 'typeorm';

/** One answered LLM call of one step attempt (`call` counts an attempt's calls from 0). */
export interface UsageEntry {
  runId: string;
  stepId: string;
  attempt: number;
  call: number;
  workflowId?: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}

/** Tokens held for a call in flight; settled with what it spent, or released. */
export interface Reservation {
  readonly id: string;
}

/** Where AI connectors reserve tokens before a call and book what each call spent. */
export interface TokenLedger {
  /**
   * Holds `tokens` of the tenant's monthly budget for a call about to be sent; undefined
   * when the tenant has no budget (nothing to hold). Throws `BudgetExceeded` when what is
   * booked this month, plus what calls in flight hold, plus `tokens` would pass the budget.
   */
  reserve(tenantId: string, tokens: number, holdMs: number): Promise<Reservation | undefined>;
  /** Books the call (once: a redelivered attempt's call is not booked again) and frees its hold. */
  settle(tenantId: string, entry: UsageEntry, reservation: Reservation | undefined): Promise<void>;
  /** Frees the hold of a call that spent nothing (it failed). */
  release(reservation: Reservation | undefined): Promise<void>;
}

export class BudgetExceeded extends Error {
  override readonly name = 'BudgetExceeded';
}

/** The first day of the month of `now()` in UTC, as PostgreSQL computes it. */
const THIS_MONTH = `date_trunc('month', now() AT TIME ZONE 'UTC')::date`;

/**
 * SQL of the `ai` schema's ledger: `usage` (one row per call), `monthly_usage` (its sum per
 * tenant and month, kept in the same transaction), `budgets` and `reservations`. A tenant's
 * reservations are made one at a time under the lock of its month's row, so concurrent calls
 * see each other's holds and cannot together pass the budget.
 */
export class TokenLedgerRepository implements TokenLedger {
  constructor(private readonly db: DataSource) {}

  async reserve(
    tenantId: string,
    tokens: number,
    holdMs: number,
  ): Promise<Reservation | undefined> {
    const budgets: { monthly_tokens: string }[] = await this.db.query(
      'SELECT monthly_tokens FROM ai.budgets WHERE tenant_id = $1',
      [tenantId],
    );
    if (budgets.length === 0) return undefined;
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ai.monthly_usage (tenant_id, month) VALUES ($1, ${THIS_MONTH})
         ON CONFLICT DO NOTHING`,
        [tenantId],
      );
      // The lock every reservation of the tenant queues on. What it guards is read by the next
      // statement: its snapshot, taken once the lock is held, sees the holds committed before.
      await tx.query(
        `SELECT 1 FROM ai.monthly_usage WHERE tenant_id = $1 AND month = ${THIS_MONTH} FOR UPDATE`,
        [tenantId],
      );
      const [state] = await tx.query<
        { tokens: string; monthly_tokens: string | null; reserved: string }[]
      >(
        `SELECT m.tokens, b.monthly_tokens,
                (SELECT COALESCE(sum(r.tokens), 0) FROM ai.reservations r
                  WHERE r.tenant_id = $1 AND r.expires_at > now()) AS reserved
           FROM ai.monthly_usage m LEFT JOIN ai.budgets b ON b.tenant_id = m.tenant_id
          WHERE m.tenant_id = $1 AND m.month = ${THIS_MONTH}`,
        [tenantId],
      );
      if (state?.monthly_tokens == null) return undefined;
      const [spent, held, budget] = [state.tokens, state.reserved, state.monthly_tokens].map(
        Number,
      ) as [number, number, number];
      if (spent + held + tokens > budget) {
        throw new BudgetExceeded(
          `this call may use up to ${tokens} tokens; the monthly budget of ${budget} has ` +
            `${Math.max(0, budget - spent - held)} left (${spent} booked, ${held} held by calls in flight)`,
        );
      }
      const id = randomUUID();
      await tx.query(`DELETE FROM ai.reservations WHERE tenant_id = $1 AND expires_at <= now()`, [
        tenantId,
      ]);
      await tx.query(
        `INSERT INTO ai.reservations (id, tenant_id, tokens, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))`,
        [id, tenantId, tokens, holdMs],
      );
      return { id };
    });
  }

  async settle(
    tenantId: string,
    entry: UsageEntry,
    reservation: Reservation | undefined,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      const booked: unknown[] = await tx.query(
        `INSERT INTO ai.usage (tenant_id, run_id, step_id, attempt, call, workflow_id,
                               provider, model, input_tokens, output_tokens)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (run_id, step_id, attempt, call) DO NOTHING
         RETURNING 1`,
        [
          tenantId,
          entry.runId,
          entry.stepId,
          entry.attempt,
          entry.call,
          entry.workflowId ?? null,
          entry.provider,
          entry.model,
          entry.inputTokens,
          entry.outputTokens,
        ],
      );
      if (booked.length > 0) await addToMonth(tx, tenantId, entry);
      if (reservation) {
        await tx.query('DELETE FROM ai.reservations WHERE id = $1', [reservation.id]);
      }
    });
  }

  async release(reservation: Reservation | undefined): Promise<void> {
    if (!reservation) return;
    await this.db.query('DELETE FROM ai.reservations WHERE id = $1', [reservation.id]);
  }

  async putBudget(tenantId: string, budget: Budget): Promise<Budget> {
    if (budget.monthlyTokens === null) {
      await this.db.query('DELETE FROM ai.budgets WHERE tenant_id = $1', [tenantId]);
    } else {
      await this.db.query(
        `INSERT INTO ai.budgets (tenant_id, monthly_tokens) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE
            SET monthly_tokens = excluded.monthly_tokens, updated_at = now()`,
        [tenantId, budget.monthlyTokens],
      );
    }
    return budget;
  }

  /** The tenant's ledger of `month` (UTC): totals, its budget, by model and by workflow. */
  async report(tenantId: string, month: Month): Promise<UsageReport> {
    const start = `${month}-01`;
    const range = `created_at >= $2::date AND created_at < ($2::date + interval '1 month')`;
    const [byModel, byWorkflow, [state]] = await Promise.all([
      this.db.query<TokenRow[]>(
        `SELECT provider, model, count(*)::int AS calls,
                sum(input_tokens)::bigint AS input, sum(output_tokens)::bigint AS output
           FROM ai.usage WHERE tenant_id = $1 AND ${range}
          GROUP BY provider, model ORDER BY sum(input_tokens + output_tokens) DESC, model`,
        [tenantId, start],
      ),
      this.db.query<TokenRow[]>(
        `SELECT workflow_id, count(*)::int AS calls,
                sum(input_tokens)::bigint AS input, sum(output_tokens)::bigint AS output
           FROM ai.usage WHERE tenant_id = $1 AND ${range}
          GROUP BY workflow_id ORDER BY sum(input_tokens + output_tokens) DESC, workflow_id`,
        [tenantId, start],
      ),
      this.db.query<
        { budget: string | null; tokens: string | null; reserved: string; current: boolean }[]
      >(
        `SELECT (SELECT monthly_tokens FROM ai.budgets WHERE tenant_id = $1) AS budget,
                (SELECT tokens FROM ai.monthly_usage WHERE tenant_id = $1 AND month = $2::date)
                  AS tokens,
                (SELECT COALESCE(sum(tokens), 0) FROM ai.reservations
                  WHERE tenant_id = $1 AND expires_at > now()) AS reserved,
                $2::date = ${THIS_MONTH} AS current`,
        [tenantId, start],
      ),
    ]);
    const tokens = Number(state?.tokens ?? 0);
    const reservedTokens = state?.current ? Number(state.reserved) : 0;
    const monthlyTokens = state?.budget == null ? null : Number(state.budget);
    return {
      month,
      monthlyTokens,
      tokens,
      reservedTokens,
      remainingTokens:
        monthlyTokens === null ? null : Math.max(0, monthlyTokens - tokens - reservedTokens),
      byModel: byModel.map((row) => ({
        provider: row.provider!,
        model: row.model!,
        ...tokensOf(row),
      })),
      byWorkflow: byWorkflow.map((row) => ({
        workflowId: row.workflow_id ?? null,
        ...tokensOf(row),
      })),
    };
  }
}

interface TokenRow {
  provider?: string;
  model?: string;
  workflow_id?: string | null;
  calls: number;
  input: string;
  output: string;
}

const tokensOf = (row: TokenRow) => ({
  calls: row.calls,
  inputTokens: Number(row.input),
  outputTokens: Number(row.output),
});

function addToMonth(tx: EntityManager, tenantId: string, entry: UsageEntry): Promise<unknown> {
  return tx.query(
    `INSERT INTO ai.monthly_usage (tenant_id, month, tokens) VALUES ($1, ${THIS_MONTH}, $2)
     ON CONFLICT (tenant_id, month) DO UPDATE SET tokens = ai.monthly_usage.tokens + excluded.tokens`,
    [tenantId, entry.inputTokens + entry.outputTokens],
  );
}
