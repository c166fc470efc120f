import { preparedQuery } from '@weft/persistence';
import { RunWaitingFor } from '@weft/contracts';
import type { Sql } from './transactions';

/** A concurrency key of a tenant's workflow: what its slots are counted by. */
export interface SlotKey {
  tenantId: string;
  workflowId: string;
  key: string;
}

/** Whether a run may take a slot: how many are free, and whether an older run waits for one. */
export interface SlotState {
  free: number;
  older: boolean;
}

/** The name whose hash is the key's advisory lock. */
export const slotLockName = (k: SlotKey) =>
  `weft.workflow.concurrency:${k.tenantId}:${k.workflowId}:${k.key}`;

/** The name whose hash is the lock of a tenant's `concurrentRuns` slots. */
export const tenantSlotLockName = (tenantId: string) => `weft.workflow.tenant-slots:${tenantId}`;

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
  async lock(tx: Sql, keys: readonly SlotKey[], tenantIds: readonly string[] = []): Promise<void> {
    const names = [
      ...new Set([...keys.map(slotLockName), ...tenantIds.map(tenantSlotLockName)]),
    ].sort();
    if (names.length === 0) return;
    // unnest yields the names in array order, and each row's lock is taken as it is read.
    await tx.query(
      'SELECT pg_advisory_xact_lock(hashtextextended(name, 0)) FROM unnest($1::text[]) AS n(name)',
      [names],
    );
  }

  /**
   * Whether `runId` may take a slot of the key: fewer than `limit` taken and no older run of the
   * key waiting. `free` is how many slots are free. The caller holds the key's lock.
   */
  async keyState(tx: Sql, runId: string, k: SlotKey, limit: number): Promise<SlotState> {
    const [state] = await tx.query<{ taken: number; older: boolean }[]>(
      `SELECT (SELECT count(*)::int FROM workflow.run_slots
                WHERE tenant_id = $1 AND workflow_id = $2 AND key = $3) AS taken,
              EXISTS (SELECT 1 FROM workflow.runs
                       WHERE workflow_id = $2 AND concurrency_key = $3 AND waiting_for IS NOT NULL
                         AND status = 'queued' AND tenant_id = $1 AND id < $4) AS older`,
      [k.tenantId, k.workflowId, k.key, runId],
    );
    return { free: limit - state!.taken, older: state!.older };
  }

  async takeKey(tx: Sql, runId: string, k: SlotKey): Promise<void> {
    await tx.query(
      `INSERT INTO workflow.run_slots (run_id, tenant_id, workflow_id, key)
       VALUES ($1, $2, $3, $4) ON CONFLICT (run_id) DO NOTHING`,
      [runId, k.tenantId, k.workflowId, k.key],
    );
  }

  /**
   * Takes one of the tenant's `limit` slots (`concurrentRuns`) for `runId` if it may: more are
   * free than older runs of the tenant wait for one — the free slots are theirs first, so the
   * tenant's runs start in arrival order, yet woken runs need not be applied oldest first.
   * Answers whether it took one. One statement: the check and the take are one round trip on
   * every start of a limited tenant. The caller holds the tenant's lock.
   */
  async takeTenantIfOpen(
    tx: Sql,
    runId: string,
    tenantId: string,
    limit: number,
  ): Promise<boolean> {
    const rows: unknown[] = await preparedQuery(
      tx,
      `INSERT INTO workflow.tenant_slots (run_id, tenant_id)
       SELECT $2, $1
        WHERE $3::int - (SELECT count(*)::int FROM workflow.tenant_slots WHERE tenant_id = $1)
              > (SELECT count(*)::int FROM (
                   SELECT 1 FROM workflow.runs
                    WHERE tenant_id = $1 AND waiting_for = 'concurrentRuns'
                      AND status IN ('queued', 'running') AND id < $2
                    LIMIT $3) o)
       ON CONFLICT (run_id) DO NOTHING
       RETURNING run_id`,
      [tenantId, runId, limit],
    );
    return rows.length > 0;
  }

  /** Those of `runIds` that hold one of their tenant's slots. */
  async holding(tx: Sql, runIds: readonly string[]): Promise<Set<string>> {
    if (runIds.length === 0) return new Set();
    const rows: { run_id: string }[] = await tx.query(
      'SELECT run_id FROM workflow.tenant_slots WHERE run_id = ANY($1::uuid[])',
      [runIds],
    );
    return new Set(rows.map((row) => row.run_id));
  }

  /**
   * The oldest runs of the tenant waiting for one of its slots, `count` at most, past the
   * `skip` oldest (those already sent for).
   */
  async tenantWaiting(tx: Sql, tenantId: string, count: number, skip = 0): Promise<string[]> {
    if (count <= 0) return [];
    const rows: { id: string }[] = await tx.query(
      `SELECT id FROM workflow.runs
        WHERE tenant_id = $1 AND waiting_for = 'concurrentRuns' AND status IN ('queued', 'running')
        ORDER BY id LIMIT $2 OFFSET $3`,
      [tenantId, count, Math.max(0, skip)],
    );
    return rows.map((row) => row.id);
  }

  /** Whether the tenant has all its `limit` slots taken and runs waiting for one. */
  async tenantFull(sql: Sql, tenantId: string, limit: number): Promise<boolean> {
    const [row] = await preparedQuery<{ full: boolean }>(
      sql,
      `SELECT (SELECT count(*) FROM workflow.tenant_slots WHERE tenant_id = $1) >= $2
              AND EXISTS (SELECT 1 FROM workflow.runs
                           WHERE tenant_id = $1 AND waiting_for = 'concurrentRuns'
                             AND status IN ('queued', 'running')) AS full`,
      [tenantId, limit],
    );
    return row!.full;
  }

  /** How many of the tenant's `limit` slots are free now. */
  async tenantFree(tx: Sql, tenantId: string, limit: number): Promise<number> {
    const [row] = await tx.query<{ taken: number }[]>(
      'SELECT count(*)::int AS taken FROM workflow.tenant_slots WHERE tenant_id = $1',
      [tenantId],
    );
    return limit - row!.taken;
  }

  /** The tenants that have runs waiting for one of their slots. */
  async tenantsWaiting(tx: Sql): Promise<string[]> {
    const rows: { tenant_id: string }[] = await tx.query(
      `SELECT DISTINCT tenant_id FROM workflow.runs
        WHERE waiting_for = 'concurrentRuns' AND status IN ('queued', 'running')`,
    );
    return rows.map((row) => row.tenant_id);
  }

  /**
   * Deletes the tenant slots of runs that ended (a run that held none has none to delete) and
   * answers the runs to send for: of each tenant that freed n slots, its n oldest waiting runs
   * past those the slots free before were already sent for (limit − slots taken before the
   * delete: the statement's snapshot still sees the deleted rows). `defaultLimit` is the
   * platform's `concurrentRuns` (null: none) for a tenant without its own; a tenant without a
   * limit gets its n oldest. One statement, on every end of a limited tenant's run.
   */
  async releaseTenant(
    tx: Sql,
    runIds: readonly string[],
    defaultLimit: number | null,
  ): Promise<string[]> {
    if (runIds.length === 0) return [];
    const rows: { id: string }[] = await preparedQuery(
      tx,
      `WITH freed AS (
         DELETE FROM workflow.tenant_slots WHERE run_id = ANY($1::uuid[]) RETURNING tenant_id
       ), per AS (
         SELECT f.tenant_id, count(*)::int AS n,
                COALESCE(min(l.concurrent_runs), $2::int) AS lim
           FROM freed f LEFT JOIN workflow.tenant_limits l ON l.tenant_id = f.tenant_id
          GROUP BY f.tenant_id
       )
       SELECT w.id FROM per, LATERAL (
         SELECT r.id FROM workflow.runs r
          WHERE r.tenant_id = per.tenant_id AND r.waiting_for = 'concurrentRuns'
            AND r.status IN ('queued', 'running')
          ORDER BY r.id
          OFFSET GREATEST(0, COALESCE(per.lim - (SELECT count(*)::int FROM workflow.tenant_slots s
                                                   WHERE s.tenant_id = per.tenant_id), 0))
          LIMIT per.n
       ) w`,
      [runIds, defaultLimit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Runs waiting for a slot, by what they wait for, and slots held, by scope: for metrics, once
   * a second. One count per reason, each with an equality on `waiting_for`: on a partition not
   * yet analysed (a new month's) the planner takes `waiting_for IS NOT NULL` for true of nearly
   * every row and scanned the whole partition, where an equality lets `runs_tenant_waiting`
   * serve the tenants' count. (The keys' count still plans a scan until the partition has
   * statistics: its partial index is on `IS NOT NULL`.)
   */
  async usage(
    tx: Sql,
  ): Promise<{ waiting: Record<RunWaitingFor, number>; held: Record<string, number> }> {
    const counts = RunWaitingFor.options.map(
      (reason) => `(SELECT count(*)::int FROM workflow.runs
                     WHERE waiting_for = '${reason}' AND status IN ('queued', 'running')) AS "${reason}"`,
    );
    const [row] = await tx.query<
      (Record<RunWaitingFor, number> & { keys: number; tenants: number })[]
    >(
      `SELECT ${counts.join(', ')},
              (SELECT count(*)::int FROM workflow.run_slots) AS keys,
              (SELECT count(*)::int FROM workflow.tenant_slots) AS tenants`,
    );
    const { keys, tenants, ...waiting } = row!;
    return { waiting, held: { concurrency: keys, concurrentRuns: tenants } };
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
    return this.keyWaiting(tx, k, limit - state!.taken);
  }

  /** Forgets slots whose run is gone (its partition was dropped past retention while it ran). */
  async forgetOrphans(tx: Sql): Promise<void> {
    for (const table of ['run_slots', 'tenant_slots']) {
      await tx.query(
        `DELETE FROM workflow.${table} s
          WHERE NOT EXISTS (SELECT 1 FROM workflow.runs r WHERE r.id = s.run_id)`,
      );
    }
  }

  /** The oldest runs waiting for the key, `count` at most, but `except`. */
  async keyWaiting(tx: Sql, k: SlotKey, count: number, except?: string): Promise<string[]> {
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
