import type { CredentialType, CredentialView, SealedCredential } from '@weft/contracts';
import type { DataSource } from 'typeorm';

interface CredentialRow {
  name: string;
  type: CredentialType;
  created_at: Date;
  updated_at: Date;
}

/** A credential's envelope with its owner, for the pass that reseals every tenant's. */
export interface SealedRow {
  tenantId: string;
  name: string;
  sealed: string;
}

/**
 * SQL of `integration.credentials`; every statement a tenant's request runs is scoped by the
 * tenant. Only the operator's key-rotation pass (`sealedPage`, `sealedOf`, `replaceSealed`)
 * goes across tenants.
 */
export class CredentialRepository {
  constructor(private readonly db: DataSource) {}

  /** Stores a sealed credential; undefined when the tenant already has one of that name. */
  async insert(
    tenantId: string,
    credential: SealedCredential,
  ): Promise<CredentialView | undefined> {
    const rows: CredentialRow[] = await this.db.query(
      `INSERT INTO integration.credentials (tenant_id, name, type, sealed)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, name) DO NOTHING
       RETURNING name, type, created_at, updated_at`,
      [tenantId, credential.name, credential.type, credential.sealed],
    );
    const row = rows[0];
    return row && toView(row);
  }

  async list(tenantId: string): Promise<CredentialView[]> {
    const rows: CredentialRow[] = await this.db.query(
      `SELECT name, type, created_at, updated_at FROM integration.credentials
        WHERE tenant_id = $1 ORDER BY name`,
      [tenantId],
    );
    return rows.map(toView);
  }

  /** The credential's type, for a replacement to be checked against; undefined if none. */
  async typeOf(tenantId: string, name: string): Promise<CredentialType | undefined> {
    const rows: { type: CredentialType }[] = await this.db.query(
      'SELECT type FROM integration.credentials WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    );
    return rows[0]?.type;
  }

  /** Replaces the sealed data of a credential of `type`; undefined when there is none. */
  async replace(
    tenantId: string,
    credential: SealedCredential,
  ): Promise<CredentialView | undefined> {
    // TypeORM answers an UPDATE on PostgreSQL with [rows, affectedCount].
    const [rows] = await this.db.query<[CredentialRow[], number]>(
      `UPDATE integration.credentials SET sealed = $4, updated_at = now()
        WHERE tenant_id = $1 AND name = $2 AND type = $3
        RETURNING name, type, created_at, updated_at`,
      [tenantId, credential.name, credential.type, credential.sealed],
    );
    const row = rows[0];
    return row && toView(row);
  }

  /** Whether a credential of that name existed. */
  async delete(tenantId: string, name: string): Promise<boolean> {
    // TypeORM answers a DELETE on PostgreSQL with [rows, affectedCount].
    const [, deleted] = await this.db.query<[unknown[], number]>(
      'DELETE FROM integration.credentials WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    );
    return deleted > 0;
  }

  /** The sealed envelopes of those of `names` the tenant has, in no particular order. */
  async findSealed(tenantId: string, names: readonly string[]): Promise<SealedCredential[]> {
    return this.db.query(
      `SELECT name, type, sealed FROM integration.credentials
        WHERE tenant_id = $1 AND name = ANY($2::text[])`,
      [tenantId, names],
    );
  }

  /** Envelopes of every tenant after `after` (none: from the start), in primary-key order. */
  async sealedPage(after: SealedRow | undefined, limit: number): Promise<SealedRow[]> {
    const columns = 'SELECT tenant_id AS "tenantId", name, sealed FROM integration.credentials';
    return after
      ? this.db.query(
          `${columns} WHERE (tenant_id, name) > ($1, $2) ORDER BY tenant_id, name LIMIT $3`,
          [after.tenantId, after.name, limit],
        )
      : this.db.query(`${columns} ORDER BY tenant_id, name LIMIT $1`, [limit]);
  }

  /** The credential's envelope now; undefined once it is deleted. */
  async sealedOf(tenantId: string, name: string): Promise<SealedRow | undefined> {
    const rows: SealedRow[] = await this.db.query(
      `SELECT tenant_id AS "tenantId", name, sealed FROM integration.credentials
        WHERE tenant_id = $1 AND name = $2`,
      [tenantId, name],
    );
    return rows[0];
  }

  /**
   * Swaps `row.sealed` for `sealed` only while the row still holds `row.sealed` (compare and
   * set), so a rotation that landed since it was read is never overwritten. False when it did.
   */
  async replaceSealed(row: SealedRow, sealed: string): Promise<boolean> {
    // updated_at stays: it tells users when they last replaced the data, and the same data
    // under another key is no change of theirs.
    const [, updated] = await this.db.query<[unknown[], number]>(
      `UPDATE integration.credentials SET sealed = $4
        WHERE tenant_id = $1 AND name = $2 AND sealed = $3`,
      [row.tenantId, row.name, row.sealed, sealed],
    );
    return updated > 0;
  }
}

function toView(row: CredentialRow): CredentialView {
  return {
    name: row.name,
    type: row.type,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
