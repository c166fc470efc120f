import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each webhook row names the hmac credential its deliveries are signed with (null for
 * `auth: "none"`), so a delivery is resolved with one indexed read instead of reading and
 * validating its workflow's definition. Rows written before are filled from their workflow's
 * latest version.
 */
export class WebhookSecrets1764600000000 implements MigrationInterface {
  name = 'WebhookSecrets1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.webhooks ADD COLUMN secret text');
    await db.query(`
      UPDATE workflow.webhooks h
         SET secret = t.trigger ->> 'secret'
        FROM workflow.workflows w
        JOIN workflow.workflow_versions v ON v.workflow_id = w.id AND v.version = w.latest_version
        CROSS JOIN LATERAL jsonb_array_elements(
          CASE jsonb_typeof(v.definition -> 'triggers')
            WHEN 'array' THEN v.definition -> 'triggers' ELSE '[]'::jsonb END
        ) AS t(trigger)
       WHERE w.id = h.workflow_id
         AND t.trigger ->> 'type' = 'webhook' AND t.trigger ->> 'path' = h.path`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.webhooks DROP COLUMN secret');
  }
}
