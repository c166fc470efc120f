export type LiveState = 'connecting' | 'live' | 'offline' | 'ended';

const TEXT: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  offline: 'Reconnecting…',
  /** A run's stream ends with the run: nothing more will change. */
  ended: 'Final',
};

/** Whether the page's event stream is connected, so a quiet page is not mistaken for a stale one. */
export function LiveIndicator({ state }: { state: LiveState }) {
  return (
    <span className={`live-indicator ${state}`} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {TEXT[state]}
    </span>
  );
}
