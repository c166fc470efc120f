import { isTransientDatabaseError } from '@weft/persistence';
import type { EngineService } from '../engine/engine.service';
import type { RunState } from '../engine/run-state';
import type { NewRun } from './new-run';

/** The most starts one transaction writes. */
const MAX_BATCH = 100;

interface Waiting {
  run: NewRun;
  resolve: (run: RunState) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for run starts: a start that arrives while another transaction of starts is in
 * flight waits for it and goes in the next one, with every start that arrived meanwhile, as
 * one multi-row write (EngineService.startNew). A lone start goes at once, so batching adds no
 * wait; under load, one transaction carries many starts. One run whose data the database
 * refuses must not fail the starts it was batched with: the batch is then written again one
 * start at a time, and only that one fails.
 */
export class StartBatcher {
  private readonly waiting: Waiting[] = [];
  private flushing = false;

  constructor(private readonly engine: EngineService) {}

  start(run: NewRun): Promise<RunState> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ run, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.waiting.length > 0) await this.write(this.waiting.splice(0, MAX_BATCH));
    } finally {
      this.flushing = false;
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      const runs = await this.engine.startNew(batch.map(({ run }) => run));
      batch.forEach(({ resolve }, i) => resolve(runs[i]!));
    } catch (error) {
      if (batch.length === 1 || isTransientDatabaseError(error)) {
        for (const { reject } of batch) reject(error);
        return;
      }
      for (const { run, resolve, reject } of batch) {
        await this.engine.startNew([run]).then(([started]) => resolve(started!), reject);
      }
    }
  }
}
