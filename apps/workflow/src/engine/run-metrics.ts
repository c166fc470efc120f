import { isTerminalRunStatus, type RunStatus } from '@weft/contracts';
import { counter, METRICS } from '@weft/runtime';
import type { RunSignal } from './signals';

const started = counter(METRICS.runsStarted);
const finished = counter(METRICS.runsFinished);

/**
 * The runs one transaction started and ended, counted into the metrics only once it has
 * committed: a transaction that rolls back (and is tried again, by the transport or the
 * poller) counts nothing. Each transaction gets a tally of its own.
 */
export class RunTally {
  private started = 0;
  private readonly finished: RunStatus[] = [];

  /** Notes what one signal did to a run: from `before` to `after`. */
  note(before: RunStatus, after: RunStatus, signal: RunSignal['kind']): void {
    const wasIdle = before === 'queued' || isTerminalRunStatus(before);
    // A start or retry that took the run out of queued or an end; a cancel or fail of a queued
    // run ends it without starting it.
    if (wasIdle && after !== 'queued' && after !== before) {
      if (!isTerminalRunStatus(after) || signal === 'start' || signal === 'retry') this.started++;
    }
    if (!isTerminalRunStatus(before) && isTerminalRunStatus(after)) this.finished.push(after);
  }

  /** Forgets what was noted: the work it counted was rolled back (to a savepoint). */
  discard(): void {
    this.started = 0;
    this.finished.length = 0;
  }

  /** Call after the commit. */
  record(): void {
    if (this.started > 0) started.inc(this.started);
    for (const status of this.finished) finished.inc({ status });
    this.started = 0;
    this.finished.length = 0;
  }
}
