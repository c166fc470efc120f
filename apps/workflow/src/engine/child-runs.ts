import type { WorkflowRepository } from '../workflows/workflow.repository';
import type { RunRepository } from './store/run.repository';
import type { ChildRunPort } from './transition';
import type { WorkflowCatalog } from './workflow-catalog';

/** What `workflow.run` steps read: the workflow they name, and a child started before. */
export function childRunPort(
  workflows: WorkflowRepository,
  catalog: WorkflowCatalog,
  runs: RunRepository,
): ChildRunPort {
  return {
    resolve: async (tenantId, ref, version) => {
      const found = await workflows.findActive(tenantId, ref);
      if (!found) return undefined;
      const pinned = version ?? found.version;
      if (pinned > found.version) return undefined;
      return {
        workflowId: found.id,
        version: pinned,
        workflow: await catalog.version(found.id, pinned),
      };
    },
    existing: (tenantId, key) => runs.runOfKey(tenantId, key),
  };
}
