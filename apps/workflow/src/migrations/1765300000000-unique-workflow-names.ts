import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Names are unique among a tenant's active workflows, so a name can address one (`GET
 * /v1/workflows?name=`, `workflow.run`, run triggers, a CLI's apply). Duplicates saved before
 * this are renamed deterministically: of each name, the oldest active workflow keeps it and the
 * others, in order of creation, get `-2`, `-3`… (the first suffix no active workflow of the
 * tenant has). Each rename is logged. A workflow's name is now its row's, not its latest
 * definition's (the renamed ones' definitions keep the name they were written with).
 *
 * Run triggers that named their source workflow by name keep the name, so they follow whichever
 * active workflow bears it when a run ends.
 */
export class UniqueWorkflowNames1765300000000 implements MigrationInterface {
  name = 'UniqueWorkflowNames1765300000000';

  async up(db: QueryRunner): Promise<void> {
    const duplicates = (await db.query(`
        SELECT id, tenant_id, name, rank FROM (
          SELECT id, tenant_id, name,
                 row_number() OVER (PARTITION BY tenant_id, name ORDER BY created_at, id)::int AS rank
            FROM workflow.workflows WHERE archived_at IS NULL) ranked
         WHERE rank > 1 ORDER BY tenant_id, name, rank`)) as {
      id: string;
      tenant_id: string;
      name: string;
      rank: number;
    }[];
    const taken = new Map<string, Set<string>>();
    for (const duplicate of duplicates) {
      let names = taken.get(duplicate.tenant_id);
      if (!names) {
        const rows = (await db.query(
          'SELECT name FROM workflow.workflows WHERE tenant_id = $1 AND archived_at IS NULL',
          [duplicate.tenant_id],
        )) as { name: string }[];
        names = new Set(rows.map((row) => row.name));
        taken.set(duplicate.tenant_id, names);
      }
      let suffix = duplicate.rank;
      while (names.has(`${duplicate.name}-${suffix}`)) suffix++;
      const renamed = `${duplicate.name}-${suffix}`;
      names.add(renamed);
      await db.query('UPDATE workflow.workflows SET name = $2 WHERE id = $1', [
        duplicate.id,
        renamed,
      ]);
      process.stdout.write(
        `${JSON.stringify({
          level: 'warn',
          msg: 'workflow renamed: its name was taken by an older active workflow',
          migration: this.name,
          tenantId: duplicate.tenant_id,
          workflowId: duplicate.id,
          from: duplicate.name,
          to: renamed,
        })}\n`,
      );
    }
    await db.query(`
      CREATE UNIQUE INDEX workflows_active_name ON workflow.workflows (tenant_id, name)
       WHERE archived_at IS NULL`);

    await db.query(`
      ALTER TABLE workflow.run_triggers
        ALTER COLUMN source_workflow_id DROP NOT NULL,
        ADD COLUMN source_name text,
        ADD CONSTRAINT run_triggers_one_source CHECK ((source_workflow_id IS NULL) <> (source_name IS NULL))`);
    // Triggers saved with a name (not an id) resolve it when a run ends from now on.
    await db.query(`
      UPDATE workflow.run_triggers t
         SET source_name = v.definition -> 'triggers' -> t.idx ->> 'workflow',
             source_workflow_id = NULL
        FROM workflow.workflow_versions v
       WHERE v.workflow_id = t.workflow_id AND v.version = t.version
         AND (v.definition -> 'triggers' -> t.idx ->> 'workflow')
             !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`);
    await db.query(
      'CREATE INDEX run_triggers_source_name ON workflow.run_triggers (tenant_id, source_name)',
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX workflow.run_triggers_source_name');
    await db.query(`
      UPDATE workflow.run_triggers t SET source_workflow_id = w.id
        FROM workflow.workflows w
       WHERE t.source_workflow_id IS NULL AND w.tenant_id = t.tenant_id
         AND w.name = t.source_name AND w.archived_at IS NULL`);
    await db.query('DELETE FROM workflow.run_triggers WHERE source_workflow_id IS NULL');
    await db.query(`
      ALTER TABLE workflow.run_triggers
        DROP CONSTRAINT run_triggers_one_source,
        DROP COLUMN source_name,
        ALTER COLUMN source_workflow_id SET NOT NULL`);
    await db.query('DROP INDEX workflow.workflows_active_name');
  }
}
