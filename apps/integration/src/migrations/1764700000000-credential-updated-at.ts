import type { MigrationInterface, QueryRunner } from 'typeorm';

/** When a credential's data was last replaced (`PUT /v1/credentials/{name}`, rotation). */
export class CredentialUpdatedAt1764700000000 implements MigrationInterface {
  name = 'CredentialUpdatedAt1764700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE integration.credentials ADD COLUMN updated_at timestamptz');
    await db.query('UPDATE integration.credentials SET updated_at = created_at');
    await db.query(
      'ALTER TABLE integration.credentials ALTER COLUMN updated_at SET NOT NULL, ALTER COLUMN updated_at SET DEFAULT now()',
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE integration.credentials DROP COLUMN updated_at');
  }
}
