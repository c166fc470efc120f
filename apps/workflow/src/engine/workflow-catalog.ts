import type { WorkflowRepository } from '../workflows/workflow.repository';
import { compileWorkflow, itemWorkflowOf, type CompiledWorkflow } from './compiled-workflow';
import type { RunState } from './run-state';
import type { Sql } from './store/transactions';

const CAPACITY = 1_000;

/**
 * Compiled workflow versions. A version never changes once written, so an entry never goes
 * stale; the map only bounds memory, evicting the least recently used.
 */
export class WorkflowCatalog {
  private readonly cache = new Map<string, Promise<CompiledWorkflow>>();

  constructor(private readonly workflows: WorkflowRepository) {}

  /**
   * A caller inside a transaction passes its manager as `sql`, so a miss is read on that
   * connection instead of waiting for a second one from the pool.
   */
  version(workflowId: string, version: number, sql?: Sql): Promise<CompiledWorkflow> {
    const key = `${workflowId}:${version}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const loading = this.load(workflowId, version, sql);
    this.cache.set(key, loading);
    loading.catch(() => this.cache.delete(key));
    if (this.cache.size > CAPACITY) this.cache.delete(this.cache.keys().next().value!);
    return loading;
  }

  /** The workflow a run runs: its version's, or for a `foreach` item, that step's item workflow. */
  async forRun(run: RunState, sql?: Sql): Promise<CompiledWorkflow> {
    const workflow = await this.version(run.workflowId, run.workflowVersion, sql);
    return run.trigger.type === 'foreach' ? itemWorkflowOf(workflow, run.trigger.stepId) : workflow;
  }

  private async load(workflowId: string, version: number, sql?: Sql): Promise<CompiledWorkflow> {
    const stored = await this.workflows.definitionOf(workflowId, version, sql);
    if (stored === undefined) throw new Error(`workflow ${workflowId} has no version ${version}`);
    return compileWorkflow(stored);
  }
}
