import type {
  RunError,
  RunStatus,
  RunTrigger,
  RunWaitingFor,
  StepStatus,
  StepWaiting,
} from '@weft/contracts';

/** A run as the engine holds it while applying one signal. */
export interface RunState {
  id: string;
  tenantId: string;
  workflowId: string;
  workflowVersion: number;
  status: RunStatus;
  /** What started the run, and what it carried (`event` in expressions). */
  trigger: RunTrigger;
  event: unknown;
  input: unknown;
  output: unknown;
  error: RunError | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The sequence number of the run's newest event; the next one takes the number after. */
  lastEventSeq: number;
  /** Time spent evaluating the run's expressions so far, against its per-run budget. */
  expressionMs: number;
  /**
   * The run's `concurrency` key, from when it first started (null for a workflow without
   * `concurrency`, and before the start); it keeps it for a retry.
   */
  concurrencyKey?: string | null;
  /** `concurrency` while the run is queued waiting for a slot of its key. */
  waitingFor?: RunWaitingFor | null;
}

export interface StepState {
  id: string;
  type: string;
  status: StepStatus;
  /** Attempts dispatched so far; the next one is `attempt + 1`. */
  attempt: number;
  output: unknown;
  error: RunError | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  /**
   * While a worker holds the attempt (`queued` or `running`): when the engine stops waiting for
   * its result or next heartbeat and the reaper takes the attempt back.
   */
  leaseExpiresAt: Date | null;
  /** While `waiting`: what for (a wait's instant, an approval); null otherwise. */
  waiting: StepWaiting | null;
  /** A `foreach` step's items: how many, which ended; null for other steps. */
  items: ForeachState | null;
}

/**
 * A `foreach` step's progress, kept on its row: counts, the settings it started with, and a
 * bitmap of the items that ended (base64), so a result told twice is counted once.
 */
export interface ForeachState {
  total: number;
  started: number;
  succeeded: number;
  failed: number;
  concurrency: number;
  onItemError: 'fail' | 'continue';
  ended: string;
  errors: { index: number; code: string; message: string }[];
}

/** A step of a run that has just started: nothing dispatched yet. */
export const pendingStep = (id: string, type: string): StepState => ({
  id,
  type,
  status: 'pending',
  attempt: 0,
  output: null,
  error: null,
  startedAt: null,
  finishedAt: null,
  leaseExpiresAt: null,
  waiting: null,
  items: null,
});
