import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Milliseconds a run has spent evaluating `{{ … }}` expressions, summed over its transitions,
 * so that a run's total is bounded and not only each transition's (docs/security.md).
 */
export class MeterRunExpressions1764400000000 implements MigrationInterface {
  name = 'MeterRunExpressions1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.runs ADD COLUMN expression_ms int NOT NULL DEFAULT 0');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.runs DROP COLUMN expression_ms');
  }
}
