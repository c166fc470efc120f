import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dependency statistics on each month's `runs` partition (new months get theirs from
 * `ensureMonth`, run-partitions.ts, which says why). The partitions there already are analysed
 * here: they would not be again until enough of their rows change, and past months' never do.
 * ANALYZE reads a sample of each partition (at most 30,000 rows' pages), not all of it.
 */
export class RunListStatistics1765900000000 implements MigrationInterface {
  name = 'RunListStatistics1765900000000';

  async up(db: QueryRunner): Promise<void> {
    for (const name of await runsPartitions(db)) {
      await db.query(
        `CREATE STATISTICS IF NOT EXISTS workflow.${name}_tenant_workflow (dependencies)
           ON tenant_id, workflow_id FROM workflow.${name}`,
      );
      await db.query(`ANALYZE workflow.${name}`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    for (const name of await runsPartitions(db)) {
      await db.query(`DROP STATISTICS IF EXISTS workflow.${name}_tenant_workflow`);
    }
  }
}

async function runsPartitions(db: QueryRunner): Promise<string[]> {
  const rows = (await db.query(
    `SELECT c.relname AS name FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
      WHERE n.nspname = 'workflow' AND p.relname = 'runs'`,
  )) as { name: string }[];
  return rows.map((row) => row.name);
}
