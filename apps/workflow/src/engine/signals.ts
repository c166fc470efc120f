import type { ApprovalDecision, RunError, StepResult } from '@weft/contracts';

/** Everything that can move a run: the engine applies one at a time under the run's lock. */
export type RunSignal =
  | { kind: 'start' }
  | { kind: 'result'; result: StepResult }
  | { kind: 'timer'; stepId: string; timer: TimerKind; attempt: number }
  | { kind: 'cancel' }
  | { kind: 'retry' }
  /** The reaper found the attempt's lease expired: no result and no heartbeat in time. */
  | { kind: 'lease-expired'; stepId: string; attempt: number }
  /** Standalone recovery: the attempt's task died with the process; send it again. */
  | { kind: 'redispatch'; stepId: string; attempt: number }
  /** A person decided a waiting approval step; `output` becomes its output. */
  | {
      kind: 'complete';
      stepId: string;
      decision: ApprovalDecision;
      output: Record<string, unknown>;
    }
  /** The run's state could not be stored: it fails, so it holds up no one else. */
  | { kind: 'fail'; error: RunError };

/**
 * `retry`: the back-off before the next attempt ran out; `wait`: a wait step is due;
 * `approval`: an approval step's timeout.
 */
export type TimerKind = 'retry' | 'wait' | 'approval';
