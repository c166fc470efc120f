import type { MigrationInterface, QueryRunner } from 'typeorm';
import { partitionsOf } from '../runs/run-partitions';

/**
 * Indexes for the engine's sweep for stalled work (every 30 s) and its recovery at start-up:
 * queued runs that wait for nothing, steps waiting for a child run, running foreach steps.
 * Without them each sweep read the whole history: at 2 million runs, 1.1 GB of `runs` and up
 * to 16 GB of `step_runs`, twice a minute (docs/performance.md). Each is partial: it holds only
 * the rows in that state, a few at any time, whatever the history's size.
 *
 * Built without blocking the engine's writes: `CREATE INDEX CONCURRENTLY` cannot run on a
 * partitioned table or in a transaction, so the parent's index is created `ON ONLY` (invalid
 * until every partition has its own), each partition's concurrently, then attached. A build cut
 * short leaves an invalid index, which a new attempt drops and builds again. Partitions created
 * later get the index with the parent's definition.
 */
export class IndexesForStalledWork1766000000000 implements MigrationInterface {
  name = 'IndexesForStalledWork1766000000000';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    for (const index of INDEXES) await createPartitioned(db, index);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const index of INDEXES) await db.query(`DROP INDEX IF EXISTS workflow.${nameOf(index)}`);
  }
}

/** The parent's index is `<table>_<suffix>`, a partition's `<partition>_<suffix>`. */
interface PartitionedIndex {
  table: string;
  suffix: string;
  definition: string;
}

const nameOf = (index: PartitionedIndex): string => `${index.table}_${index.suffix}`;

const INDEXES: PartitionedIndex[] = [
  {
    table: 'runs',
    suffix: 'queued_unwaiting',
    definition: "(id) WHERE status = 'queued' AND waiting_for IS NULL",
  },
  {
    table: 'step_runs',
    suffix: 'waiting',
    definition: "(run_id) WHERE status = 'waiting'",
  },
  {
    table: 'step_runs',
    suffix: 'running_foreach',
    definition: "(run_id) WHERE status = 'running' AND items IS NOT NULL",
  },
];

async function createPartitioned(db: QueryRunner, index: PartitionedIndex): Promise<void> {
  await db.query(
    `CREATE INDEX IF NOT EXISTS ${nameOf(index)} ON ONLY workflow.${index.table} ${index.definition}`,
  );
  for (const partition of await partitionsOf(db, [index.table])) {
    const name = `${partition}_${index.suffix}`;
    const [state] = (await db.query(
      `SELECT x.indisvalid AS valid,
              EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = x.indexrelid) AS attached
         FROM pg_index x WHERE x.indexrelid = to_regclass($1)`,
      [`workflow.${name}`],
    )) as { valid: boolean; attached: boolean }[];
    if (state?.attached) continue;
    if (state && !state.valid) await db.query(`DROP INDEX CONCURRENTLY workflow.${name}`);
    if (!state?.valid) {
      await db.query(
        `CREATE INDEX CONCURRENTLY ${name} ON workflow.${partition} ${index.definition}`,
      );
    }
    await db.query(`ALTER INDEX workflow.${nameOf(index)} ATTACH PARTITION workflow.${name}`);
  }
}
