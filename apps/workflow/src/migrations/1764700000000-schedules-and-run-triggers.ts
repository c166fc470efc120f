import { nextSlot } from '@weft/definitions';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Schedule triggers and run-completion triggers as rows, replaced in a workflow's save
 * transaction (moved to the new version atomically) and deleted when it is archived.
 *
 * `schedules.next_at` is the slot a schedule waits for: engines claim due rows with
 * `FOR UPDATE SKIP LOCKED`, start the slot's run and move `next_at` on in one transaction, so a
 * slot fires once across every replica. The counters feed `GET /v1/workflows/{id}/schedules`.
 *
 * `run_triggers` maps a source workflow to the workflows its ended runs start, so the engine
 * finds them with one indexed read when runs end.
 *
 * Active workflows saved with schedule triggers before this version start firing from their
 * next slot.
 */
export class SchedulesAndRunTriggers1764700000000 implements MigrationInterface {
  name = 'SchedulesAndRunTriggers1764700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE workflow.schedules (
        workflow_id uuid NOT NULL,
        idx int NOT NULL,
        tenant_id uuid NOT NULL,
        version int NOT NULL,
        cron text NOT NULL,
        timezone text NOT NULL,
        overlap text NOT NULL,
        catch_up text NOT NULL,
        input jsonb NOT NULL,
        next_at timestamptz,
        last_slot timestamptz,
        last_fired_at timestamptz,
        last_run_id uuid,
        fired bigint NOT NULL DEFAULT 0,
        skipped bigint NOT NULL DEFAULT 0,
        missed bigint NOT NULL DEFAULT 0,
        late bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (workflow_id, idx)
      )`);
    await db.query(
      'CREATE INDEX schedules_due ON workflow.schedules (next_at) WHERE next_at IS NOT NULL',
    );
    await db.query(`
      CREATE TABLE workflow.run_triggers (
        workflow_id uuid NOT NULL,
        idx int NOT NULL,
        tenant_id uuid NOT NULL,
        version int NOT NULL,
        source_workflow_id uuid NOT NULL,
        statuses text[] NOT NULL,
        PRIMARY KEY (workflow_id, idx)
      )`);
    await db.query(
      'CREATE INDEX run_triggers_source ON workflow.run_triggers (source_workflow_id)',
    );

    type Saved = { id: string; tenant_id: string; version: number; triggers: unknown };
    const saved = (await db.query(`
        SELECT w.id, w.tenant_id, v.version, v.definition -> 'triggers' AS triggers
          FROM workflow.workflows w
          JOIN workflow.workflow_versions v
            ON v.workflow_id = w.id AND v.version = w.latest_version
         WHERE w.archived_at IS NULL
           AND v.definition -> 'triggers' @> '[{"type": "schedule"}]'`)) as Saved[];
    const now = new Date();
    for (const workflow of saved) {
      const triggers = Array.isArray(workflow.triggers) ? workflow.triggers : [];
      for (const [index, trigger] of triggers.entries()) {
        const { type, cron, timezone = 'UTC', input = {} } = trigger as Record<string, unknown>;
        if (type !== 'schedule' || typeof cron !== 'string' || typeof timezone !== 'string') {
          continue;
        }
        let next: Date | null;
        try {
          next = nextSlot({ cron, timezone }, now);
        } catch {
          continue;
        }
        await db.query(
          `INSERT INTO workflow.schedules
             (workflow_id, idx, tenant_id, version, cron, timezone, overlap, catch_up, input, next_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'skip', 'latest', $7, $8)`,
          [
            workflow.id,
            index,
            workflow.tenant_id,
            workflow.version,
            cron,
            timezone,
            JSON.stringify(input),
            next,
          ],
        );
      }
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.run_triggers');
    await db.query('DROP TABLE workflow.schedules');
  }
}
