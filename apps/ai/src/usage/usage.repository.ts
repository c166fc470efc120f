import type { DataSource } from 'typeorm';

/** One successful LLM call of one step attempt. */
export interface UsageEntry {
  runId: string;
  stepId: string;
  attempt: number;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}

export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

/** Where the `ai.chat` connector books the tokens of each call. */
export interface UsageLedger {
  /** False when the attempt was already booked (a redelivered task). */
  record(tenantId: string, entry: UsageEntry): Promise<boolean>;
}

/** SQL of `ai.usage`; every method is scoped by tenant. */
export class UsageRepository implements UsageLedger {
  constructor(private readonly db: DataSource) {}

  async record(tenantId: string, entry: UsageEntry): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO ai.usage
         (tenant_id, run_id, step_id, attempt, provider, model, input_tokens, output_tokens)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (run_id, step_id, attempt) DO NOTHING
       RETURNING 1`,
      [
        tenantId,
        entry.runId,
        entry.stepId,
        entry.attempt,
        entry.provider,
        entry.model,
        entry.inputTokens,
        entry.outputTokens,
      ],
    );
    return rows.length > 0;
  }

  /** The tenant's calls and tokens, all time or since a moment. */
  async totalsFor(tenantId: string, since?: Date): Promise<UsageTotals> {
    const rows: { calls: number; input_tokens: string; output_tokens: string }[] =
      await this.db.query(
        `SELECT count(*)::int AS calls,
                COALESCE(sum(input_tokens), 0)::bigint AS input_tokens,
                COALESCE(sum(output_tokens), 0)::bigint AS output_tokens
           FROM ai.usage
          WHERE tenant_id = $1 AND created_at >= COALESCE($2::timestamptz, '-infinity')`,
        [tenantId, since ?? null],
      );
    const [totals] = rows;
    return {
      calls: totals?.calls ?? 0,
      inputTokens: Number(totals?.input_tokens ?? 0),
      outputTokens: Number(totals?.output_tokens ?? 0),
    };
  }
}
