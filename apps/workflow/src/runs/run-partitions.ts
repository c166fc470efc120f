import type { JsonLogger } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { SlotRepository } from '../engine/store/slot.repository';

/**
 * `runs`, `step_runs`, `run_events`, `step_outputs` and `foreach_items` are range-partitioned
 * by month on their run id. Run ids are UUIDv7, whose first 48 bits are the creation time in
 * milliseconds, so a month is a contiguous id range: a lookup by id touches one partition, a
 * newest-first page scans the newest ones, and retention is a `DROP TABLE` instead of a
 * `DELETE` that bloats the table.
 */
export const PARTITIONED = [
  'runs',
  'step_runs',
  'run_events',
  'step_outputs',
  'foreach_items',
] as const;

export const DEFAULT_RETENTION_MONTHS = 6;
const MONTHS_AHEAD = 3;
const EVERY_MS = 60 * 60_000;

/** The first instant of the UTC month `offset` months from the one holding `at`. */
export function monthStart(at: Date, offset = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
}

/** The smallest UUIDv7 of the millisecond `at`: a partition bound. */
export function uuidFloor(at: Date): string {
  const hex = at.getTime().toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

export function partitionName(table: string, month: Date): string {
  const mm = String(month.getUTCMonth() + 1).padStart(2, '0');
  return `${table}_y${month.getUTCFullYear()}m${mm}`;
}

/** The month a partition named by `partitionName` holds; undefined for other tables. */
export function partitionMonth(name: string): Date | undefined {
  const match = /_y(\d{4})m(\d{2})$/.exec(name);
  return match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)) : undefined;
}

/** The partitions of the `workflow` tables named, by name. */
export async function partitionsOf(
  db: Pick<DataSource, 'query'>,
  tables: readonly string[],
): Promise<string[]> {
  const rows = await db.query<{ name: string }[]>(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
      WHERE n.nspname = 'workflow' AND p.relname = ANY($1)`,
    [tables],
  );
  return rows.map((row) => row.name);
}

/** The name of a `runs` partition's statistics (runsStatistics). */
export const runsStatisticsName = (partition: string): string => `${partition}_tenant_workflow`;

/**
 * The extended statistics of a month's `runs` partition. A run's workflow decides its tenant,
 * and a planner that takes the two columns for independent multiplies their selectivities: it
 * put a workflow's runs at a few rows a partition, so a page of a workflow with thousands of
 * runs was sorted from all of them (72 ms and 1,384 blocks on a history of 2 million runs)
 * instead of read newest first from `(tenant_id, workflow_id, id)` until the page is full (1 ms,
 * 39 blocks). `dependencies` tells it the workflow implies the tenant. A partitioned table's own
 * statistics describe only the whole, so each partition gets its own.
 */
export function runsStatistics(partition: string): string {
  return `CREATE STATISTICS IF NOT EXISTS workflow.${runsStatisticsName(partition)} (dependencies)
            ON tenant_id, workflow_id FROM workflow.${partition}`;
}

/**
 * The planner's statistics on a table's `jsonb` columns: off (0) for the run history, -1 (the
 * server's default) to have them back. A partitioned table's setting reaches the partitions
 * there are now, and a new partition does not inherit it, so `ensureMonth` sets each one's. No
 * statement filters, joins or sorts on a run's input, output, error or events, so the planner
 * never reads these, and computing them was half of what autovacuum's ANALYZE of a month's
 * partition cost: with the noisy-neighbour benchmark's 58,000 steps, 200 ms of a core for
 * `step_runs`, 67 ms without (`run_events` 180 → 72 ms, `runs` 68 → 44), spent at once every
 * minute while the month fills (docs/performance.md, 5 December 2026). A filter on a `jsonb`
 * column added later wants its statistics back.
 */
export async function setJsonStatistics(
  db: Pick<DataSource, 'query'>,
  table: string,
  target: 0 | -1,
): Promise<void> {
  const columns = await db.query<{ name: string }[]>(
    `SELECT attname AS name FROM pg_attribute
      WHERE attrelid = $1::regclass AND atttypid = 'jsonb'::regtype
        AND attnum > 0 AND NOT attisdropped AND attstattarget <> $2`,
    [`workflow.${table}`, target],
  );
  if (columns.length === 0) return;
  const alters = columns.map(({ name }) => `ALTER COLUMN "${name}" SET STATISTICS ${target}`);
  await db.query(`ALTER TABLE workflow.${table} ${alters.join(', ')}`);
}

/** Creates the month's partition of every partitioned table (or of `tables`), when missing. */
export async function ensureMonth(
  db: Pick<DataSource, 'query'>,
  month: Date,
  tables: readonly string[] = PARTITIONED,
): Promise<string[]> {
  const from = uuidFloor(monthStart(month));
  const to = uuidFloor(monthStart(month, 1));
  const created: string[] = [];
  for (const table of tables) {
    const name = partitionName(table, monthStart(month));
    const exists: unknown[] = await db.query('SELECT to_regclass($1) AS found', [
      `workflow.${name}`,
    ]);
    if ((exists[0] as { found: string | null }).found) continue;
    await db.query(
      `CREATE TABLE workflow.${name} PARTITION OF workflow.${table}
         FOR VALUES FROM ('${from}') TO ('${to}')`,
    );
    if (table === 'runs') await db.query(runsStatistics(name));
    await setJsonStatistics(db, name, 0);
    created.push(name);
  }
  return created;
}

/**
 * Creates, for a table partitioned like `runs` and added after it, a partition for every month
 * `runs` has one for (its migration's job).
 */
export async function ensureMonthsOfRuns(
  db: Pick<DataSource, 'query'>,
  tables: readonly string[],
): Promise<void> {
  for (const name of await partitionsOf(db, ['runs'])) {
    const month = partitionMonth(name);
    if (month) await ensureMonth(db, month, tables);
  }
}

/**
 * Keeps the partitions ahead of time and drops those past the retention; also forgets run
 * idempotency keys older than their 24 hours. One engine replica does it at a time.
 */
export class RunPartitions {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly db: DataSource,
    private readonly logger: JsonLogger,
    private readonly retentionMonths = DEFAULT_RETENTION_MONTHS,
  ) {}

  start(): void {
    const run = () =>
      this.maintain().catch((error: unknown) =>
        this.logger.event('error', 'partition maintenance failed', { err: error }),
      );
    void run();
    this.timer = setInterval(() => void run(), EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async maintain(now = new Date()): Promise<{ created: string[]; dropped: string[] }> {
    return this.db.transaction(async (tx) => {
      const [lock] = await tx.query<{ locked: boolean }[]>(
        "SELECT pg_try_advisory_xact_lock(hashtext('weft.workflow.partitions')) AS locked",
      );
      if (!lock?.locked) return { created: [], dropped: [] };
      const created: string[] = [];
      for (let offset = 0; offset <= MONTHS_AHEAD; offset++) {
        created.push(...(await ensureMonth(tx, monthStart(now, offset))));
      }
      // A month is past retention once all of it is older than the retention.
      const oldestKept = monthStart(now, -this.retentionMonths);
      const dropped: string[] = [];
      for (const name of await partitionsOf(tx, PARTITIONED)) {
        const month = partitionMonth(name);
        if (month && monthStart(month, 1) <= oldestKept) {
          await tx.query(`DROP TABLE workflow.${name}`);
          dropped.push(name);
        }
      }
      // A run past retention still running held a slot; its row went with the partition.
      if (dropped.length > 0) await new SlotRepository().forgetOrphans(tx);
      await tx.query(
        "DELETE FROM workflow.run_keys WHERE created_at < now() - interval '24 hours'",
      );
      if (created.length || dropped.length) {
        this.logger.event('info', 'run partitions maintained', { created, dropped });
      }
      return { created, dropped };
    });
  }
}
