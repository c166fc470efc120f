import type { MigrationInterface, QueryRunner } from 'typeorm';
import { partitionsOf, runsStatistics, runsStatisticsName } from '../runs/run-partitions';

/**
 * Dependency statistics on each month's `runs` partition (new months get theirs from
 * `ensureMonth`, run-partitions.ts, which says why). The partitions there already are analysed
 * here: they would not be again until enough of their rows change, and past months' never do.
 * ANALYZE reads a sample of each partition (at most 30,000 rows' pages), not all of it.
 */
export class RunListStatistics1765900000000 implements MigrationInterface {
  name = 'RunListStatistics1765900000000';

  async up(db: QueryRunner): Promise<void> {
    for (const name of await partitionsOf(db, ['runs'])) {
      await db.query(runsStatistics(name));
      await db.query(`ANALYZE workflow.${name}`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    for (const name of await partitionsOf(db, ['runs'])) {
      await db.query(`DROP STATISTICS IF EXISTS workflow.${runsStatisticsName(name)}`);
    }
  }
}
