import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { vacuumQueueTables } from '../src/engine/due-work-poller';
import { openWorkflowSchema } from './support/engine-harness';

/**
 * The engine vacuums its queue tables itself: a tenant's slot count must not read the index
 * entries of every slot freed since autovacuum last came by (it may be off, as on CI's server).
 */
describe('queue tables vacuumed by the engine (real PostgreSQL)', () => {
  let db: DataSource;
  beforeAll(async () => {
    db = await openWorkflowSchema(2);
  });
  afterAll(() => db.destroy());

  /** The index entries a count of the tenant's slots reads: live and dead alike. */
  const entriesRead = (tenantId: string) =>
    db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      await tx.query('SET LOCAL enable_indexscan = off');
      await tx.query('SET LOCAL enable_indexonlyscan = off');
      const [row] = await tx.query(
        'EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM workflow.tenant_slots WHERE tenant_id = $1',
        [tenantId],
      );
      type Plan = { 'Node Type': string; 'Actual Rows': number; Plans?: Plan[] };
      const find = (plan: Plan): Plan | undefined =>
        plan['Node Type'] === 'Bitmap Index Scan'
          ? plan
          : (plan.Plans ?? []).map(find).find(Boolean);
      return find(row['QUERY PLAN'][0].Plan)!['Actual Rows'];
    });

  it('leaves a freed slot no index entry to read', async () => {
    const tenantId = randomUUID();
    await db.query(
      `INSERT INTO workflow.tenant_slots (run_id, tenant_id)
       SELECT gen_random_uuid(), $1 FROM generate_series(1, 500)`,
      [tenantId],
    );
    await db.query('DELETE FROM workflow.tenant_slots WHERE tenant_id = $1', [tenantId]);
    expect(await entriesRead(tenantId)).toBe(500);

    await vacuumQueueTables(db);
    expect(await entriesRead(tenantId)).toBe(0);
  });
});
