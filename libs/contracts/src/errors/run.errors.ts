import type { ErrorEntry } from './error-entry';

export const RunErrors = {
  run_input_invalid: { kind: 'invalid', title: 'Run input invalid' },
  run_not_found: { kind: 'not_found', title: 'Run not found' },
  run_not_cancellable: { kind: 'conflict', title: 'Run not cancellable' },
  run_not_retryable: { kind: 'conflict', title: 'Run not retryable' },
  run_step_not_found: { kind: 'not_found', title: 'Step not found' },
  run_step_not_waiting: { kind: 'conflict', title: 'Step not waiting' },
} as const satisfies Record<`run_${string}`, ErrorEntry>;
