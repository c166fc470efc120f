import { preparedQuery } from '@weft/persistence';
import { LruCache } from '@weft/runtime';
import type { Sql } from './transactions';

/** How long a replica goes on using a tenant's limit it read, on the hot path of starts. */
const CACHED_LIMIT_MS = 1_000;

/**
 * The limits the engine enforces per tenant (`concurrentRuns`), as an operator set them, over
 * the platform default (`WEFT_TENANT_CONCURRENT_RUNS`; 0: no limit). The gateway owns tenants
 * and sends a change here (`tenants.limits.put`); absent a row, a tenant has the default.
 */
export class TenantLimitRepository {
  /** The platform's `concurrentRuns` for a tenant without its own; null: no limit. */
  readonly fallback: number | null;
  private readonly cache = new LruCache<number | null>(CACHED_LIMIT_MS, 10_000, Date.now);

  constructor(defaultConcurrentRuns: number) {
    this.fallback = defaultConcurrentRuns > 0 ? defaultConcurrentRuns : null;
  }

  /** Each tenant's `concurrentRuns` in effect; null: no limit. */
  async concurrentRuns(tx: Sql, tenantIds: readonly string[]): Promise<Map<string, number | null>> {
    const limits = new Map<string, number | null>(tenantIds.map((id) => [id, this.fallback]));
    if (tenantIds.length === 0) return limits;
    const rows: { tenant_id: string; concurrent_runs: number | null }[] = await preparedQuery(
      tx,
      `SELECT tenant_id, concurrent_runs FROM workflow.tenant_limits
        WHERE tenant_id = ANY($1::uuid[])`,
      [[...new Set(tenantIds)]],
    );
    for (const row of rows) limits.set(row.tenant_id, row.concurrent_runs ?? this.fallback);
    return limits;
  }

  /**
   * The tenant's `concurrentRuns`, as read at most CACHED_LIMIT_MS ago: for a start deciding
   * whether to join the waiting runs at once, where a limit a second old does no harm (the
   * engine checks the limit in force when it admits).
   */
  async cachedConcurrentRuns(sql: Sql, tenantId: string): Promise<number | null> {
    const cached = this.cache.get(tenantId);
    if (cached !== undefined) return cached;
    const since = Date.now();
    const limit = (await this.concurrentRuns(sql, [tenantId])).get(tenantId) ?? null;
    this.cache.set(tenantId, limit, since);
    return limit;
  }

  /** Sets a tenant's own `concurrentRuns`, or (null) returns it to the default. */
  async put(tx: Sql, tenantId: string, concurrentRuns: number | null): Promise<void> {
    if (concurrentRuns === null) {
      await tx.query('DELETE FROM workflow.tenant_limits WHERE tenant_id = $1', [tenantId]);
    } else {
      await tx.query(
        `INSERT INTO workflow.tenant_limits (tenant_id, concurrent_runs) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET concurrent_runs = EXCLUDED.concurrent_runs`,
        [tenantId, concurrentRuns],
      );
    }
    this.cache.delete(tenantId);
  }
}
