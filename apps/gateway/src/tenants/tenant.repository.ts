import type { DataSource } from 'typeorm';
import type { ApiKeyScope } from './api-key';
import type { TenantLimitOverrides } from './tenant-limits';

export interface Tenant {
  id: string;
  name: string;
}

/** The part of an API key that is stored: never the key itself. */
export interface StoredApiKey {
  id: string;
  hash: Buffer;
  prefix: string;
  name: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
}

/** An API key as its tenant sees it: neither the key nor its hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

/** A tenant with the limits an operator set for it (absent ones are the defaults). */
export interface TenantWithLimits extends Tenant {
  limits: TenantLimitOverrides;
}

/** What a presented key stands for: which key, whose, what it may do and whether it still may. */
export interface ApiKeyIdentity {
  keyId: string;
  tenant: Tenant;
  /** The tenant's own limits, read with the key so that admitting a request costs no query. */
  limits: TenantLimitOverrides;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  revokedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}

const RECORD_COLUMNS = 'id, name, scopes, prefix, created_at, expires_at, last_used_at';

const toRecord = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  scopes: row.scopes,
  prefix: row.prefix,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
});

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
        `INSERT INTO gateway.api_keys (id, tenant_id, key_hash, prefix, name, scopes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [key.id, tenant.id, key.hash, key.prefix, key.name, key.scopes, key.expiresAt],
      );
    });
  }

  /** The limits an operator set for a tenant; undefined when there is no such tenant. */
  async findLimits(tenantId: string): Promise<TenantLimitOverrides | undefined> {
    const rows: { limits: TenantLimitOverrides }[] = await this.db.query(
      'SELECT limits FROM gateway.tenants WHERE id = $1',
      [tenantId],
    );
    return rows[0]?.limits;
  }

  /**
   * Merges `patch` into a tenant's limits in one statement (two operators patching different
   * limits both land); a null returns that limit to the default. Undefined: no such tenant.
   */
  async patchLimits(
    tenantId: string,
    patch: Record<string, number | null>,
  ): Promise<TenantWithLimits | undefined> {
    const [rows] = await this.db.query<[TenantWithLimits[], number]>(
      `UPDATE gateway.tenants SET limits = jsonb_strip_nulls(limits || $2::jsonb)
        WHERE id = $1
        RETURNING id, name, limits`,
      [tenantId, JSON.stringify(patch)],
    );
    return rows[0];
  }

  /** Stores another key of a tenant; undefined when a live key of the tenant has its name. */
  async insertKey(tenantId: string, key: StoredApiKey): Promise<ApiKeyRecord | undefined> {
    // The partial unique index api_keys_tenant_name decides, so two racing creates cannot
    // both win; a revoked key does not count.
    const rows: ApiKeyRow[] = await this.db.query(
      `INSERT INTO gateway.api_keys (id, tenant_id, key_hash, prefix, name, scopes, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, name) WHERE revoked_at IS NULL DO NOTHING
       RETURNING ${RECORD_COLUMNS}`,
      [key.id, tenantId, key.hash, key.prefix, key.name, key.scopes, key.expiresAt],
    );
    const row = rows[0];
    return row && toRecord(row);
  }

  /** The tenant's keys that are not revoked (expired ones included), oldest first. */
  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const rows: ApiKeyRow[] = await this.db.query(
      `SELECT ${RECORD_COLUMNS} FROM gateway.api_keys
        WHERE tenant_id = $1 AND revoked_at IS NULL
        ORDER BY created_at, id`,
      [tenantId],
    );
    return rows.map(toRecord);
  }

  /** Revokes a live key of the tenant and answers its digest; undefined when there is none. */
  async revokeKey(tenantId: string, keyId: string): Promise<Buffer | undefined> {
    // TypeORM answers an UPDATE on PostgreSQL with [rows, affectedCount].
    const [rows] = await this.db.query<[{ key_hash: Buffer }[], number]>(
      `UPDATE gateway.api_keys SET revoked_at = now()
        WHERE id = $1 AND tenant_id = $2 AND revoked_at IS NULL
        RETURNING key_hash`,
      [keyId, tenantId],
    );
    return rows[0]?.key_hash;
  }

  /**
   * The key of a digest with its tenant, revoked or expired ones too, so that the answer can
   * say why a key no longer works.
   */
  async findByKeyHash(hash: Buffer): Promise<ApiKeyIdentity | undefined> {
    const rows: {
      key_id: string;
      scopes: ApiKeyScope[];
      expires_at: Date | null;
      revoked_at: Date | null;
      tenant_id: string;
      tenant_name: string;
      tenant_limits: TenantLimitOverrides;
    }[] = await this.db.query(
      `SELECT k.id AS key_id, k.scopes, k.expires_at, k.revoked_at,
              t.id AS tenant_id, t.name AS tenant_name, t.limits AS tenant_limits
         FROM gateway.api_keys k
         JOIN gateway.tenants t ON t.id = k.tenant_id
        WHERE k.key_hash = $1`,
      [hash],
    );
    const row = rows[0];
    return (
      row && {
        keyId: row.key_id,
        tenant: { id: row.tenant_id, name: row.tenant_name },
        limits: row.tenant_limits,
        scopes: row.scopes,
        expiresAt: row.expires_at,
        revokedAt: row.revoked_at,
      }
    );
  }

  /**
   * Sets when each key was last used, in one statement however many keys; a time older than
   * the stored one (another gateway flushed a later use) leaves it as it is.
   */
  async recordLastUsed(uses: ReadonlyMap<string, Date>): Promise<void> {
    if (uses.size === 0) return;
    await this.db.query(
      `UPDATE gateway.api_keys k
          SET last_used_at = GREATEST(k.last_used_at, u.used_at)
         FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, used_at)
        WHERE k.id = u.id`,
      [[...uses.keys()], [...uses.values()]],
    );
  }
}
