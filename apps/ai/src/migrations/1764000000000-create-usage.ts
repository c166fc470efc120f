import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The token ledger of LLM calls: one row per successful step attempt, so a redelivered task
 * is counted once.
 */
export class CreateUsage1764000000000 implements MigrationInterface {
  name = 'CreateUsage1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE ai.usage (
        tenant_id uuid NOT NULL,
        run_id uuid NOT NULL,
        step_id text NOT NULL,
        attempt int NOT NULL,
        provider text NOT NULL,
        model text NOT NULL,
        input_tokens int NOT NULL,
        output_tokens int NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, step_id, attempt)
      )`);
    await db.query('CREATE INDEX usage_tenant_created ON ai.usage (tenant_id, created_at)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE ai.usage');
  }
}
