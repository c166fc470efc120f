import { randomBytes } from 'node:crypto';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a `waiting` step waits for (`{ kind: "wait", until }` or `{ kind: "approval", expiresAt,
 * message, approveUrl, rejectUrl }`), shown in the run view; null when the step is not waiting.
 *
 * `link_keys` holds the key that signs approval links, made here at random: every engine
 * replica reads the same one from the database, so a link works whichever replica checks it
 * and nothing has to be configured.
 */
export class StepWaiting1764900000000 implements MigrationInterface {
  name = 'StepWaiting1764900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.step_runs ADD COLUMN waiting jsonb');
    await db.query(`
      CREATE TABLE workflow.link_keys (
        id int PRIMARY KEY,
        secret bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query('INSERT INTO workflow.link_keys (id, secret) VALUES (1, $1)', [randomBytes(32)]);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.link_keys');
    await db.query('ALTER TABLE workflow.step_runs DROP COLUMN waiting');
  }
}
