import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook paths, unique per tenant among active workflows (the primary key is the check; a
 * workflow's rows are replaced when it is saved and deleted when it is archived), and what
 * started each run: `runs.trigger` (`{ type, … }`, null for runs from before, read as `api`)
 * and `runs.event`, what the trigger carried.
 */
export class WebhooksAndRunTriggers1764500000000 implements MigrationInterface {
  name = 'WebhooksAndRunTriggers1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE workflow.webhooks (
        tenant_id uuid NOT NULL,
        path text NOT NULL,
        workflow_id uuid NOT NULL,
        PRIMARY KEY (tenant_id, path)
      )`);
    await db.query('CREATE INDEX webhooks_workflow ON workflow.webhooks (workflow_id)');
    await db.query('ALTER TABLE workflow.runs ADD COLUMN trigger jsonb, ADD COLUMN event jsonb');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.runs DROP COLUMN trigger, DROP COLUMN event');
    await db.query('DROP TABLE workflow.webhooks');
  }
}
