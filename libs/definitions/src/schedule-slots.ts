import { Cron } from 'croner';

/**
 * When a schedule trigger fires: its slots, computed by croner (no cron maths of our own).
 * This is the one place both save-time validation and the engine's schedule firing read.
 *
 * DST: croner runs a fixed-time job (`30 2 * * *`) once when a local time occurs twice and, in
 * a gap, at the first valid time after it. We skip a slot whose local time does not match the
 * pattern instead (SPEC §2: "a slot that does not exist is skipped"), so a 02:30 job does not
 * run at 03:00 on the spring-forward day. Interval jobs (`*\/20 * * * *`) fire on real time.
 */

/** After downtime, `catchUp: latest` fires the most recent missed slot if it is this recent. */
export const CATCH_UP_WINDOW_MS = 60 * 60 * 1000;
/**
 * A slot reached this long after its time is missed rather than late: the engine was away
 * (restart, outage). `catchUp` decides what happens to missed slots.
 */
export const MISSED_AFTER_MS = 60 * 1000;
/** A slot fired more than this after its time counts as late (the engine was busy or slow). */
export const LATE_AFTER_MS = 1000;

export interface ScheduleSpec {
  cron: string;
  timezone: string;
}

export type CatchUp = 'latest' | 'none';

const compiled = new Map<string, Cron>();
const COMPILED_MAX = 10_000;

/** The croner job for a spec (paused: it only computes dates), cached. Throws on a bad pattern. */
function cronOf({ cron, timezone }: ScheduleSpec): Cron {
  const key = `${timezone} ${cron}`;
  let job = compiled.get(key);
  if (!job) {
    job = new Cron(cron, { timezone, paused: true, mode: '5-or-6-parts' });
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(key, job);
  }
  return job;
}

/** Why `cron` cannot be a schedule (wrong field count, a bad value, never due), or undefined. */
export function cronProblem(spec: ScheduleSpec): string | undefined {
  const fields = spec.cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return 'cron must have 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first';
  }
  try {
    cronOf(spec);
  } catch (error) {
    return `invalid cron: ${(error as Error).message.replace(/^CronPattern: /, '')}`;
  }
  return nextSlot(spec, new Date()) ? undefined : 'cron never matches a date (e.g. 30 February)';
}

/** The first slot strictly after `after`, skipping local times a DST gap removes; null if none. */
export function nextSlot(spec: ScheduleSpec, after: Date): Date | null {
  const job = cronOf(spec);
  let slot = job.nextRun(after);
  // A gap is at most a few hours, so a handful of steps; the bound is belt and braces.
  for (let i = 0; slot && !job.match(slot) && i < 1000; i++) slot = job.nextRun(slot);
  return slot && job.match(slot) ? slot : null;
}

/** The next `count` slots after `after`. */
export function nextSlots(spec: ScheduleSpec, after: Date, count: number): Date[] {
  const slots: Date[] = [];
  let slot = nextSlot(spec, after);
  while (slot && slots.length < count) {
    slots.push(slot);
    slot = nextSlot(spec, slot);
  }
  return slots;
}

/** The latest slot at or before `at`, skipping DST-gap times; null if none. */
function latestSlot(spec: ScheduleSpec, at: Date): Date | null {
  const job = cronOf(spec);
  for (const slot of job.previousRuns(5, new Date(at.getTime() + 1))) {
    if (job.match(slot)) return slot;
  }
  return null;
}

/** What a due schedule does now. */
export interface SlotDecision {
  /** The slot to fire a run for, if any. */
  fire: Date | null;
  /** Slots passed over without a run because the engine reached them too late. */
  missed: number;
  /** Whether `fire` is later than LATE_AFTER_MS. */
  late: boolean;
  /** The next slot to wait for; null when the pattern has no more. */
  next: Date | null;
}

/**
 * Decides a schedule whose pending slot `due` has come (`due <= now`). A slot reached within
 * MISSED_AFTER_MS fires, late or not, and the next one is decided on its own, so a busy engine
 * catches up slot by slot. A slot reached later was missed (the engine was away): then every
 * slot up to now was, and with `catchUp: latest` the most recent one fires if it is within
 * CATCH_UP_WINDOW_MS (an outage gives one run, not one per slot); with `none`, none fires
 * unless the most recent one is itself on time.
 */
export function decideSlot(
  spec: ScheduleSpec,
  due: Date,
  now: Date,
  catchUp: CatchUp,
): SlotDecision {
  const lateBy = (slot: Date) => now.getTime() - slot.getTime();
  if (lateBy(due) <= MISSED_AFTER_MS) {
    return { fire: due, missed: 0, late: lateBy(due) > LATE_AFTER_MS, next: nextSlot(spec, due) };
  }
  const latest = latestSlot(spec, now) ?? due;
  const passed = countSlots(spec, due, latest);
  const fire =
    lateBy(latest) <= MISSED_AFTER_MS ||
    (catchUp === 'latest' && lateBy(latest) <= CATCH_UP_WINDOW_MS)
      ? latest
      : null;
  return {
    fire,
    missed: passed - (fire ? 1 : 0),
    late: fire !== null && lateBy(fire) > LATE_AFTER_MS,
    next: nextSlot(spec, latest),
  };
}

/** Slots from `from` to `to`, both included; counted up to 1,000 (it only feeds a metric). */
function countSlots(spec: ScheduleSpec, from: Date, to: Date): number {
  if (to < from) return 0;
  let count = 1;
  let slot = nextSlot(spec, from);
  while (slot && slot <= to && count < 1000) {
    count++;
    slot = nextSlot(spec, slot);
  }
  return count;
}
