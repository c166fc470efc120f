import type { RunStatus, RunWaitingFor, StepStatus } from '@weft/contracts';

type Status = RunStatus | StepStatus;

/**
 * Each status has a colour, an icon and its word, so that it never depends on colour alone.
 * The record's type makes a new status of the contracts a compile error here until it has one.
 */
const LOOK: Record<Status, { icon: string; tone: string }> = {
  pending: { icon: '○', tone: 'neutral' },
  queued: { icon: '◷', tone: 'neutral' },
  running: { icon: '▶', tone: 'info' },
  waiting: { icon: '⏸', tone: 'warning' },
  succeeded: { icon: '✓', tone: 'success' },
  failed: { icon: '✕', tone: 'danger' },
  skipped: { icon: '↷', tone: 'muted' },
  cancelled: { icon: '⊘', tone: 'muted' },
};

/** The run statuses, in the order the filters offer them. */
export const RUN_STATUS_OPTIONS: readonly RunStatus[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
] satisfies readonly Status[];

/** The icon of each status, for places that draw it themselves (the step graph). */
export const STATUS_ICON = Object.fromEntries(
  Object.entries(LOOK).map(([status, look]) => [status, look.icon]),
) as Record<Status, string>;

export function toneOf(status: Status): string {
  return LOOK[status].tone;
}

export function StatusBadge({ status }: { status: Status }) {
  const { icon, tone } = LOOK[status];
  return (
    <span className={`badge tone-${tone}`} data-status={status}>
      <span aria-hidden="true">{icon}</span> {status}
    </span>
  );
}

/** Why a queued run has not started: the slot it waits for (absent: it has not been seen yet). */
const WAITING_FOR: Record<RunWaitingFor, { label: string; title: string }> = {
  concurrency: {
    label: 'waiting for a concurrency slot',
    title: 'Its workflow’s concurrency key has as many runs running as its limit',
  },
  concurrentRuns: {
    label: 'waiting for a tenant slot',
    title: 'The tenant has as many runs running as its concurrentRuns limit',
  },
};

export function WaitingFor({ reason }: { reason?: RunWaitingFor }) {
  if (!reason) return null;
  const { label, title } = WAITING_FOR[reason];
  return (
    <span className="muted waiting-for" title={title} data-waiting-for={reason}>
      {label}
    </span>
  );
}
