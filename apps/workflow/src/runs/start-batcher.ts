import { isTransientDatabaseError } from '@weft/persistence';
import type { EngineService } from '../engine/engine.service';
import { GroupCommit, ItemFailure } from '../engine/group-commit';
import type { RunState } from '../engine/run-state';
import type { NewRun } from './new-run';

/** The most starts one transaction writes. */
const MAX_BATCH = 100;

/**
 * Group commit for run starts: a start that arrives while another transaction of its tenant's
 * starts is in flight waits for it and goes in the next one, with every start of the tenant
 * that arrived meanwhile, as one multi-row write (EngineService.startNew). A lone start goes at
 * once, so batching adds no wait; under load, one transaction carries many starts. Tenants are
 * batched apart: a start takes its tenant's slot lock when the tenant has a `concurrentRuns`
 * limit, and a tenant that floods holds its lock most of the time; another tenant's start
 * batched with its starts would wait for that lock. One run whose data the database refuses
 * must not fail the starts it was batched with: the batch is then written again one
 * start at a time, and only that one fails.
 */
export class StartBatcher {
  private readonly batches: GroupCommit<NewRun, RunState>;

  constructor(private readonly engine: EngineService) {
    this.batches = new GroupCommit({
      write: (runs) => this.write(runs),
      maxBatch: MAX_BATCH,
      inFlight: 1,
      gatherTurn: false,
    });
  }

  async start(run: NewRun): Promise<RunState> {
    const [started] = await this.batches.submit([run], run.run.tenantId);
    return started!;
  }

  private async write(runs: NewRun[]): Promise<(RunState | ItemFailure)[]> {
    try {
      return await this.engine.startNew(runs);
    } catch (error) {
      if (runs.length === 1 || isTransientDatabaseError(error)) throw error;
      const results: (RunState | ItemFailure)[] = [];
      for (const run of runs) {
        results.push(
          await this.engine.startNew([run]).then(
            ([started]) => started!,
            (failure: unknown) => new ItemFailure(failure),
          ),
        );
      }
      return results;
    }
  }
}
