import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys a tenant manages itself: each has a name, scopes, an optional expiry, a revocation
 * time (the row stays, so a revoked key is told apart from one that never existed) and the time
 * it was last used. Every existing key was its tenant's only one, from `POST /v1/tenants`: the
 * defaults make it `default` with `{write}`, what it could do before. Constant defaults add the
 * columns without rewriting the table.
 */
export class ApiKeyNamesScopesExpiry1765400000000 implements MigrationInterface {
  name = 'ApiKeyNamesScopesExpiry1765400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE gateway.api_keys
        ADD COLUMN name text NOT NULL DEFAULT 'default',
        ADD COLUMN scopes text[] NOT NULL DEFAULT '{write}',
        ADD COLUMN expires_at timestamptz,
        ADD COLUMN revoked_at timestamptz,
        ADD COLUMN last_used_at timestamptz,
        ADD CONSTRAINT api_keys_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
        -- The guard trusts what it reads here: no scope it does not know, and at least one.
        ADD CONSTRAINT api_keys_scopes_known
          CHECK (cardinality(scopes) > 0 AND scopes <@ '{read,write}'::text[])`);
    // A name picks out one live key; a revoked key gives its name up for a new one.
    await db.query(`
      CREATE UNIQUE INDEX api_keys_tenant_name ON gateway.api_keys (tenant_id, name)
        WHERE revoked_at IS NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX gateway.api_keys_tenant_name');
    await db.query(`
      ALTER TABLE gateway.api_keys
        DROP CONSTRAINT api_keys_scopes_known,
        DROP CONSTRAINT api_keys_name_length,
        DROP COLUMN last_used_at,
        DROP COLUMN revoked_at,
        DROP COLUMN expires_at,
        DROP COLUMN scopes,
        DROP COLUMN name`);
  }
}
