import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The credential vault: one sealed envelope per tenant and name, never the data in clear. */
export class CreateCredentials1764000000000 implements MigrationInterface {
  name = 'CreateCredentials1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE integration.credentials (
        tenant_id uuid NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, name)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE integration.credentials');
  }
}
