import { createRequire } from 'node:module';

/** The kafkajs release whose RequestQueue this fixes (the last one); another is left as it is. */
export const KAFKAJS_FIXED_VERSION = '2.2.4';

interface RequestQueueInternals {
  pending: unknown[];
  /** Until when the broker throttles this connection, ms since the epoch; -1 when never. */
  throttledUntil: number;
  scheduleCheckPendingRequests: (this: RequestQueueInternals) => void;
}

const FIXED = Symbol.for('weft.kafkajs.idle-timers-fixed');

/**
 * Stops kafkajs from waking every broker connection once a millisecond. Applied once per
 * process when this module loads (kafka.ts imports it, and every service loads that before it
 * opens a connection); answers whether the fix is in place.
 *
 * In kafkajs 2.2.4, once a connection has had an answer, its RequestQueue re-arms a timer every
 * millisecond for as long as the connection is open: `scheduleCheckPendingRequests` schedules
 * the next check of the pending requests at `throttledUntil - Date.now()`, negative when the
 * broker throttles nothing (`throttledUntil` starts at -1), which Node runs after 1 ms (with a
 * TimeoutNegativeWarning since Node 23); the check schedules the next one (tulios/kafkajs#1704
 * and #1751, open; the fixes proposed in #1755 and #1768 are not released). An idle process
 * with an admin client and a producer spent 4.5 % of a core on it, 0.5 % without, and every
 * service holds several connections (ADR 0027; docs/performance.md, "A timer every millisecond").
 *
 * A check is needed only for a request that waits, and those schedule their own: push() queues
 * a request the connection cannot send at once and schedules the check (when the throttle
 * ends, or in 10 ms), and an answer runs the check (fulfillRequest). So with nothing pending
 * and no throttle in force there is nothing to schedule.
 */
export function fixKafkajsIdleTimers(): boolean {
  const load = createRequire(__filename);
  const { version } = load('kafkajs/package.json') as { version: string };
  if (version !== KAFKAJS_FIXED_VERSION) return false;
  const RequestQueue = load('kafkajs/src/network/requestQueue') as {
    prototype: RequestQueueInternals & { [FIXED]?: true };
  };
  const queue = RequestQueue.prototype;
  if (queue[FIXED]) return true;
  const schedule = queue.scheduleCheckPendingRequests;
  queue.scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
  queue[FIXED] = true;
  return true;
}

fixKafkajsIdleTimers();
