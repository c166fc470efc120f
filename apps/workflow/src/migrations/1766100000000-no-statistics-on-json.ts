import type { MigrationInterface, QueryRunner } from 'typeorm';
import { PARTITIONED, setJsonStatistics } from '../runs/run-partitions';

/**
 * No planner statistics on the run history's `jsonb` columns (`setJsonStatistics`,
 * run-partitions.ts, says why). On a partitioned table the ALTER reaches every partition there
 * is; months created later get theirs from `ensureMonth`. What was computed before stays in
 * `pg_statistic`, unread, until the partition is next analysed.
 */
export class NoStatisticsOnJson1766100000000 implements MigrationInterface {
  name = 'NoStatisticsOnJson1766100000000';

  async up(db: QueryRunner): Promise<void> {
    for (const table of PARTITIONED) await setJsonStatistics(db, table, 0);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of PARTITIONED) await setJsonStatistics(db, table, -1);
  }
}
