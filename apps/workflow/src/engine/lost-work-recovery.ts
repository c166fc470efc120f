import type { JsonLogger } from '@weft/runtime';
import type { EngineService, RunSignalFor } from './engine.service';
import type { LeaseRepository } from './store/lease.repository';
import type { RunRepository } from './store/run.repository';
import { childEndResult } from './transition';

/** Signals applied per transaction while recovering. */
const BATCH = 100;

/**
 * Puts back the work a transport that keeps nothing across a restart (standalone mode's
 * in-process bus) lost when the process stopped, kill -9 included. The database knows it all:
 * a run still `queued` had its start request in memory, a `running` one may have had its next
 * turn (a transition that yielded) in memory; an attempt a worker held (a lease is set) had its
 * task or its result in memory. Runs get a start request (for a running run: schedule what is
 * ready), attempts are sent again as the same attempt with the same idempotency key, a child
 * run's end is told again to the parent step still waiting for it, and the children of a
 * cancelled parent are cancelled. Each is a no-op when the work was not lost after all (a
 * request still in the outbox, a result that lands first).
 */
export class LostWorkRecovery {
  constructor(
    private readonly runs: RunRepository,
    private readonly leases: LeaseRepository,
    private readonly engine: EngineService,
    private readonly logger: JsonLogger,
  ) {}

  async recover(): Promise<void> {
    const runs = await this.runs.activeRuns();
    const attempts = await this.leases.heldAttempts();
    const family = await this.runs.unfinishedFamilyWork();
    const signals: RunSignalFor[] = [
      ...family.orphans.map((runId): RunSignalFor => ({ runId, signal: { kind: 'cancel' } })),
      ...family.endedChildren.flatMap((child): RunSignalFor[] => {
        const result = childEndResult(child);
        return result ? [{ runId: result.runId, signal: { kind: 'result', result } }] : [];
      }),
      ...runs.map((runId): RunSignalFor => ({ runId, signal: { kind: 'start' } })),
      ...attempts.map(({ runId, stepId, attempt }): RunSignalFor => ({
        runId,
        signal: { kind: 'redispatch', stepId, attempt },
      })),
    ];
    for (let from = 0; from < signals.length; from += BATCH) {
      await this.engine.applyAll(signals.slice(from, from + BATCH));
    }
    if (signals.length > 0) {
      this.logger.event('info', 'recovered work lost with the last process', {
        runsScheduled: runs.length,
        attemptsResent: attempts.length,
        childEndsResent: family.endedChildren.length,
        orphansCancelled: family.orphans.length,
      });
    }
  }
}
