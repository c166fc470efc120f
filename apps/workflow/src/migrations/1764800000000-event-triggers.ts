import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Kafka event triggers as rows, replaced in a workflow's save transaction and deleted when it
 * is archived; the integration service's consumers follow them. `saved_at` is when this
 * credential and topic were first saved at this index: the consumer group is named after it
 * and starts at the offsets of that moment (SPEC: "the newest offset when the trigger is
 * saved"), and an update that keeps them keeps the group and its committed offsets.
 */
export class EventTriggers1764800000000 implements MigrationInterface {
  name = 'EventTriggers1764800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE workflow.event_triggers (
        workflow_id uuid NOT NULL,
        idx int NOT NULL,
        tenant_id uuid NOT NULL,
        version int NOT NULL,
        credential text NOT NULL,
        topic text NOT NULL,
        filter text,
        from_beginning boolean NOT NULL,
        saved_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow_id, idx)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.event_triggers');
  }
}
