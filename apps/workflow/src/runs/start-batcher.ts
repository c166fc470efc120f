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
  /** Each tenant's starts waiting for its transaction in flight; a tenant is here while one is. */
  private readonly waiting = new Map<string, Waiting[]>();

  constructor(private readonly engine: EngineService) {}

  start(run: NewRun): Promise<RunState> {
    return new Promise((resolve, reject) => {
      const tenantId = run.run.tenantId;
      const queue = this.waiting.get(tenantId);
      if (queue) {
        queue.push({ run, resolve, reject });
        return;
      }
      const fresh = [{ run, resolve, reject }];
      this.waiting.set(tenantId, fresh);
      void this.flush(tenantId, fresh);
    });
  }

  private async flush(tenantId: string, queue: Waiting[]): Promise<void> {
    try {
      while (queue.length > 0) await this.write(queue.splice(0, MAX_BATCH));
    } finally {
      this.waiting.delete(tenantId);
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
