import type { WorkflowRepository } from '../workflows/workflow.repository';
import type { RunRepository } from './store/run.repository';
import type { Sql } from './store/transactions';
import type { ChildRunPort } from './transition';
import type { WorkflowCatalog } from './workflow-catalog';

/**
 * What `workflow.run` steps read: the workflow they name, and a child started before. Bound to
 * the engine's transaction (`sql`): a transition that took a pooled connection must not wait
 * for a second one, or busy partitions would hold every connection of the pool waiting.
 */
export const childRunPort =
  (workflows: WorkflowRepository, catalog: WorkflowCatalog, runs: RunRepository) =>
  (sql: Sql): ChildRunPort => ({
    resolve: async (tenantId, ref, version) => {
      const found = await workflows.findActive(tenantId, ref, sql);
      if (!found) return undefined;
      const pinned = version ?? found.version;
      if (pinned > found.version) return undefined;
      return {
        workflowId: found.id,
        version: pinned,
        workflow: await catalog.version(found.id, pinned, sql),
      };
    },
    existing: (tenantId, key) => runs.runOfKey(tenantId, key, sql),
    item: (runId, stepId, index) => runs.item(sql, runId, stepId, index),
    itemOutputs: (runId, stepId, total) => runs.itemOutputs(sql, runId, stepId, total),
  });
