import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants and their API keys; a key is kept only as its SHA-256 digest and a short prefix. */
export class CreateTenantsAndApiKeys1764100000000 implements MigrationInterface {
  name = 'CreateTenantsAndApiKeys1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE gateway.tenants (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE gateway.api_keys (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES gateway.tenants (id),
        key_hash bytea NOT NULL UNIQUE,
        prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query('CREATE INDEX api_keys_tenant ON gateway.api_keys (tenant_id)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE gateway.api_keys');
    await db.query('DROP TABLE gateway.tenants');
  }
}
