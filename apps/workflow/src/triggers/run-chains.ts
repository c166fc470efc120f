import type { JsonLogger } from '@weft/runtime';
import type { RunState } from '../engine/run-state';
import type { RunRepository } from '../engine/store/run.repository';
import type { Sql } from '../engine/store/transactions';
import type { WorkflowCatalog } from '../engine/workflow-catalog';
import { newRun, startProblems, withFreeKeys, type NewRun } from '../runs/new-run';
import type { TriggerRepository } from './trigger.repository';

/**
 * Run triggers that lead back to where they started would start runs forever: a chain stops
 * after this many links (logged).
 */
export const MAX_RUN_CHAIN = 16;

/** The idempotency key of a run trigger (SPEC §2): a source run starts a workflow once. */
export const runChainKey = (workflowId: string, sourceRunId: string) =>
  `run:${workflowId}:${sourceRunId}`;

/**
 * Run-completion triggers (`type: run`). The engine calls this in the transaction that ends
 * runs, so the runs they start are written with that transition: durable together in both
 * modes, and a redelivered result finds the key taken.
 */
export class RunChains {
  constructor(
    private readonly triggers: TriggerRepository,
    private readonly runs: RunRepository,
    private readonly catalog: WorkflowCatalog,
    private readonly logger: JsonLogger,
  ) {}

  /** The runs that `ended` start, keys claimed, for the caller to write. */
  async startedBy(tx: Sql, endedRuns: readonly RunState[]): Promise<NewRun[]> {
    // A foreach item's run is part of its parent's step, not a run of the workflow.
    const ended = endedRuns.filter((run) => run.trigger.type !== 'foreach');
    if (ended.length === 0) return [];
    const targets = await this.triggers.chainedFrom(tx, [
      ...new Set(ended.map((r) => r.workflowId)),
    ]);
    if (targets.length === 0) return [];
    const keyed: { key: string; run: NewRun }[] = [];
    for (const source of ended) {
      const depth = source.trigger.type === 'run' ? source.trigger.depth + 1 : 1;
      for (const target of targets) {
        if (
          target.sourceWorkflowId !== source.workflowId ||
          target.tenantId !== source.tenantId ||
          !target.statuses.includes(source.status)
        ) {
          continue;
        }
        const log = { workflowId: target.workflowId, sourceRunId: source.id };
        if (depth > MAX_RUN_CHAIN) {
          this.logger.event('warn', 'run chain too long; not started', { ...log, depth });
          continue;
        }
        try {
          const workflow = await this.catalog.version(target.workflowId, target.version, tx);
          const input = source.output ?? {};
          const event = { runId: source.id, workflowId: source.workflowId, status: source.status };
          const problems = startProblems(workflow, input, event);
          if (problems.length > 0) {
            this.logger.event('warn', 'run trigger input refused; not started', {
              ...log,
              problems,
            });
            continue;
          }
          const run = newRun({
            tenantId: target.tenantId,
            workflowId: target.workflowId,
            version: target.version,
            workflow,
            input,
            trigger: {
              type: 'run',
              index: target.index,
              workflowId: source.workflowId,
              runId: source.id,
              depth,
            },
            event,
          });
          keyed.push({ key: runChainKey(target.workflowId, source.id), run });
        } catch (error) {
          this.logger.event('error', 'run trigger could not start its run', { ...log, err: error });
        }
      }
    }
    return withFreeKeys(tx, this.runs, keyed);
  }
}
