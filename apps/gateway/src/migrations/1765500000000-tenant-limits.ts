import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's own limits: only the ones an operator set (`PATCH /v1/tenants/{id}`); every other
 * limit is the platform default from configuration, so changing a default reaches every tenant
 * that has not been given its own. A constant default adds the column without rewriting the table.
 */
export class TenantLimits1765500000000 implements MigrationInterface {
  name = 'TenantLimits1765500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE gateway.tenants
        ADD COLUMN limits jsonb NOT NULL DEFAULT '{}'::jsonb,
        ADD CONSTRAINT tenants_limits_object CHECK (jsonb_typeof(limits) = 'object')`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE gateway.tenants DROP COLUMN limits');
  }
}
