import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateProbes1763900000000 implements MigrationInterface {
  name = 'CreateProbes1763900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE workflow.probes (
        id uuid PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        hops jsonb NOT NULL DEFAULT '[]'::jsonb
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.probes');
  }
}
