import { useEffect, useState } from 'react';
import { durationBetween, formatDuration, formatInstant, formatRelative } from '../format/time';

/** Re-renders every `ms` while mounted, so that relative times and running durations move. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** "3 minutes ago" in a <time> element whose title is the full instant. */
export function RelativeTime({ at }: { at: string | null | undefined }) {
  const now = useNow(15_000);
  if (!at) return <span className="muted">—</span>;
  return (
    <time dateTime={at} title={formatInstant(at)}>
      {formatRelative(at, now)}
    </time>
  );
}

/** How long from start to end, counting up while there is no end yet. */
export function Duration({
  start,
  end,
}: {
  start: string | null | undefined;
  end: string | null | undefined;
}) {
  const live = Boolean(start && !end);
  const now = useNow(live ? 1000 : 60_000);
  const ms = durationBetween(start, end, now);
  if (ms === null) return <span className="muted">—</span>;
  return <span className={live ? 'duration live' : 'duration'}>{formatDuration(ms)}</span>;
}
