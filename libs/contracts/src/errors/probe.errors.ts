import type { ErrorEntry } from './error-entry';

export const ProbeErrors = {
  probe_not_found: { kind: 'not_found', title: 'Probe not found' },
} as const satisfies Record<`probe_${string}`, ErrorEntry>;
