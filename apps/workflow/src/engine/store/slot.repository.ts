import type { Sql } from './transactions';

/** A concurrency key of a tenant's workflow: what its slots are counted by. */
export interface SlotKey {
  tenantId: string;
  workflowId: string;
  key: string;
}

/** The name whose hash is the key's advisory lock. */
export const slotLockName = (k: SlotKey) =>
  `weft.workflow.concurrency:${k.tenantId}:${k.workflowId}:${k.key}`;

/**
 * SQL of concurrency slots (ADR 0016). A slot is a `run_slots` row tied to the run that holds
 * it, deleted in the transaction that ends the run; a key's slots are counted and taken under
 * the key's transaction-level advisory lock, so engine replicas agree through the database.
 */
export class SlotRepository {
  /**
   * Takes the keys' advisory locks until the transaction ends, in one sorted order, so two
   * transactions locking overlapping keys wait for each other instead of deadlocking.
   */
  async lock(tx: Sql, keys: readonly SlotKey[]): Promise<void> {
    const names = [...new Set(keys.map(slotLockName))].sort();
    if (names.length === 0) return;
    // unnest yields the names in array order, and each row's lock is taken as it is read.
    await tx.query(
      'SELECT pg_advisory_xact_lock(hashtextextended(name, 0)) FROM unnest($1::text[]) AS n(name)',
      [names],
    );
  }

  /**
   * Takes a slot of the key for `runId` when fewer than `limit` are taken and no older run of
   * the key waits; answers whether it did, and the oldest waiting runs there are free slots
   * for (to be sent a run request, so a free slot never depends on luck to be used).
   * The caller holds the key's lock.
   */
  async take(
    tx: Sql,
    runId: string,
    k: SlotKey,
    limit: number,
  ): Promise<{ taken: boolean; wake: string[] }> {
    const [state] = await tx.query<{ taken: number; older: boolean }[]>(
      `SELECT (SELECT count(*)::int FROM workflow.run_slots
                WHERE tenant_id = $1 AND workflow_id = $2 AND key = $3) AS taken,
              EXISTS (SELECT 1 FROM workflow.runs
                       WHERE workflow_id = $2 AND concurrency_key = $3 AND waiting_for IS NOT NULL
                         AND status = 'queued' AND tenant_id = $1 AND id < $4) AS older`,
      [k.tenantId, k.workflowId, k.key, runId],
    );
    const free = limit - state!.taken;
    if (free > 0 && !state!.older) {
      await tx.query(
        `INSERT INTO workflow.run_slots (run_id, tenant_id, workflow_id, key)
         VALUES ($1, $2, $3, $4) ON CONFLICT (run_id) DO NOTHING`,
        [runId, k.tenantId, k.workflowId, k.key],
      );
      return { taken: true, wake: await this.waiting(tx, k, free - 1, runId) };
    }
    return { taken: false, wake: await this.waiting(tx, k, free, runId) };
  }

  /** Deletes the slots of runs that ended (those that held none have none to delete). */
  async release(tx: Sql, runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    await tx.query('DELETE FROM workflow.run_slots WHERE run_id = ANY($1::uuid[])', [runIds]);
  }

  /** The oldest runs waiting for the key, as many as it has free slots. The caller holds the lock. */
  async wakeable(tx: Sql, k: SlotKey, limit: number): Promise<string[]> {
    const [state] = await tx.query<{ taken: number }[]>(
      `SELECT count(*)::int AS taken FROM workflow.run_slots
        WHERE tenant_id = $1 AND workflow_id = $2 AND key = $3`,
      [k.tenantId, k.workflowId, k.key],
    );
    return this.waiting(tx, k, limit - state!.taken);
  }

  /** Forgets slots whose run is gone (its partition was dropped past retention while it ran). */
  async forgetOrphans(tx: Sql): Promise<void> {
    await tx.query(
      `DELETE FROM workflow.run_slots s
        WHERE NOT EXISTS (SELECT 1 FROM workflow.runs r WHERE r.id = s.run_id)`,
    );
  }

  private async waiting(tx: Sql, k: SlotKey, count: number, except?: string): Promise<string[]> {
    if (count <= 0) return [];
    const rows: { id: string }[] = await tx.query(
      `SELECT id FROM workflow.runs
        WHERE workflow_id = $2 AND concurrency_key = $3 AND waiting_for IS NOT NULL
          AND status = 'queued' AND tenant_id = $1 AND ($5::uuid IS NULL OR id <> $5)
        ORDER BY id LIMIT $4`,
      [k.tenantId, k.workflowId, k.key, count, except ?? null],
    );
    return rows.map((row) => row.id);
  }
}
