import type { JsonLogger } from '@weft/runtime';
import type { RunRepository } from '../runs/run.repository';
import type { EngineService } from './engine.service';

const POLL_MS = 200;
const BATCH = 100;

/**
 * Fires due timers (retry back-offs, waits). Each timer is deleted and applied in one
 * transaction, so it fires once across replicas and is not lost if the process dies.
 */
export class TimerPoller {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly runs: RunRepository,
    private readonly engine: EngineService,
    private readonly logger: JsonLogger,
    private readonly onOutbox: () => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.fireDue()
        .catch((error: unknown) => this.logger.event('warn', 'timer poll failed', { err: error }))
        .finally(() => (this.running = undefined));
    }, POLL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async fireDue(): Promise<void> {
    const due = await this.runs.dueTimers(BATCH);
    for (const { id, runId } of due) {
      await this.runs.db.transaction(async (tx) => {
        await this.runs.lockRun(tx, runId);
        const timer = await this.runs.takeTimer(tx, id);
        if (!timer) return;
        await this.engine.apply(
          timer.run_id,
          { kind: 'timer', stepId: timer.step_id, timer: timer.kind, attempt: timer.attempt },
          { tx },
        );
      });
    }
    if (due.length > 0) this.onOutbox();
  }
}
