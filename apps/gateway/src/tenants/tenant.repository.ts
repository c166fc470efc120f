import type { DataSource } from 'typeorm';

export interface Tenant {
  id: string;
  name: string;
}

/** The part of an API key that is stored: never the key itself. */
export interface StoredApiKey {
  id: string;
  hash: Buffer;
  prefix: string;
}

/** SQL of `gateway.tenants` and `gateway.api_keys`. */
export class TenantRepository {
  constructor(private readonly db: DataSource) {}

  /** A tenant and its first key, together or not at all. */
  async createWithKey(tenant: Tenant, key: StoredApiKey): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO gateway.tenants (id, name) VALUES ($1, $2)', [
        tenant.id,
        tenant.name,
      ]);
      await tx.query(
        'INSERT INTO gateway.api_keys (id, tenant_id, key_hash, prefix) VALUES ($1, $2, $3, $4)',
        [key.id, tenant.id, key.hash, key.prefix],
      );
    });
  }

  /** The tenant an API key belongs to, found by the key's digest. */
  async findByKeyHash(hash: Buffer): Promise<Tenant | undefined> {
    const rows: Tenant[] = await this.db.query(
      `SELECT t.id, t.name
         FROM gateway.api_keys k
         JOIN gateway.tenants t ON t.id = k.tenant_id
        WHERE k.key_hash = $1`,
      [hash],
    );
    return rows[0];
  }
}
