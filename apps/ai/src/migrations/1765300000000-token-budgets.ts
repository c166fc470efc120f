import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Token budgets. The ledger books each call of an attempt (`ai.extract` makes several) with
 * its workflow; `monthly_usage` is the ledger's monthly sum, kept in the transaction that
 * inserts each ledger row so a budget check reads one row instead of a month of calls;
 * `reservations` hold what calls in flight may still spend, each expiring on its own, so a
 * worker that dies mid-call cannot leak budget.
 */
export class TokenBudgets1765300000000 implements MigrationInterface {
  name = 'TokenBudgets1765300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE ai.usage
        ADD COLUMN workflow_id uuid,
        ADD COLUMN call int NOT NULL DEFAULT 0,
        DROP CONSTRAINT usage_pkey,
        ADD PRIMARY KEY (run_id, step_id, attempt, call)`);
    await db.query(`
      CREATE TABLE ai.budgets (
        tenant_id uuid PRIMARY KEY,
        monthly_tokens bigint NOT NULL CHECK (monthly_tokens >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE ai.monthly_usage (
        tenant_id uuid NOT NULL,
        month date NOT NULL,
        tokens bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, month)
      )`);
    // Months already booked, so a budget set after this upgrade counts them.
    await db.query(`
      INSERT INTO ai.monthly_usage (tenant_id, month, tokens)
      SELECT tenant_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date,
             sum(input_tokens + output_tokens)
        FROM ai.usage GROUP BY 1, 2`);
    await db.query(`
      CREATE TABLE ai.reservations (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        tokens bigint NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
    await db.query('CREATE INDEX reservations_tenant ON ai.reservations (tenant_id, expires_at)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE ai.reservations');
    await db.query('DROP TABLE ai.monthly_usage');
    await db.query('DROP TABLE ai.budgets');
    await db.query(`
      ALTER TABLE ai.usage
        DROP CONSTRAINT usage_pkey,
        DROP COLUMN call,
        DROP COLUMN workflow_id,
        ADD PRIMARY KEY (run_id, step_id, attempt)`);
  }
}
