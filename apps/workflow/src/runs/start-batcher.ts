import { isTransientDatabaseError } from '@weft/persistence';
import type { EngineService } from '../engine/engine.service';
import { GroupCommit } from '../engine/group-commit';
import type { RunState } from '../engine/run-state';
import type { NewRun } from './new-run';

/** The most starts one transaction writes. */
const MAX_BATCH = 100;

/**
 * Run starts, group-committed: starts that arrive together are written in one transaction, as
 * one multi-row write (EngineService.startNew). One run whose data the database refuses must
 * not fail the starts it was batched with: the batch is then written again one start at a time,
 * and only that one fails. An outage fails the batch, for each caller to retry.
 */
export class StartBatcher {
  private readonly starts: GroupCommit<NewRun, PromiseSettledResult<RunState>>;

  constructor(private readonly engine: EngineService) {
    this.starts = new GroupCommit((runs) => this.write(runs), MAX_BATCH);
  }

  async start(run: NewRun): Promise<RunState> {
    const [started] = await this.starts.submit([run]);
    if (started!.status === 'rejected') throw started!.reason;
    return started!.value;
  }

  private async write(runs: NewRun[]): Promise<PromiseSettledResult<RunState>[]> {
    try {
      const started = await this.engine.startNew(runs);
      return started.map((value) => ({ status: 'fulfilled', value }));
    } catch (error) {
      if (runs.length === 1 || isTransientDatabaseError(error)) throw error;
      const alone: PromiseSettledResult<RunState>[] = [];
      for (const run of runs) {
        alone.push(
          await this.engine.startNew([run]).then(
            ([value]) => ({ status: 'fulfilled', value: value! }) as const,
            (reason: unknown) => ({ status: 'rejected', reason }) as const,
          ),
        );
      }
      return alone;
    }
  }
}
