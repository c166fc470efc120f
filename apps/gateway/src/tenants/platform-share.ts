import type { Redis } from 'ioredis';

/** Starts admitted per tenant in one second. */
type Counts = ReadonlyMap<string, number>;

const SECOND_MS = 1_000;
/** Two seconds are read (the last) and written (this one); the keys outlive both. */
const KEY_TTL_MS = 5_000;

/**
 * How many runs `tenantId` may start in a second when the platform has `budget` per second in all
 * and `last` is what every tenant started in the last second. A tenant that started runs then,
 * but fewer than its fair share (the budget over the tenants that started runs then, itself
 * included), is not held (Infinity): a light tenant whose starts bunch up within a second is
 * not refused for a heavy one's sake. Any other — a heavy tenant, or one that starts after a
 * quiet second, which may be the first second of a flood — may start its share or, when the
 * others left more than that unused, what they left. Max-min fairness, one second behind: a
 * tenant alone may use the whole budget, and a flooding tenant gets what the others leave, never
 * less than its share.
 */
export function fairAllowance(budget: number, last: Counts, tenantId: string): number {
  let others = 0;
  let tenants = 1;
  for (const [id, count] of last) {
    if (id === tenantId || count <= 0) continue;
    others += count;
    tenants += 1;
  }
  const share = budget / tenants;
  const own = last.get(tenantId) ?? 0;
  if (own > 0 && own < share) return Infinity;
  return Math.max(share, budget - others);
}

/**
 * The platform's run starts per second (`WEFT_PLATFORM_RUNS_PER_SECOND`), shared fairly among
 * the tenants that start runs (fairAllowance). Each gateway counts its admitted starts per
 * tenant and second in Redis, so the share holds across replicas, and reads the last second's
 * counts once a second. Without Redis (standalone), or while it fails, the counts are this
 * process's own: a per-replica share rather than none, never an error.
 */
export class PlatformShare {
  /** This process's counts by second: the current one and the last. */
  private readonly local = new Map<number, Map<string, number>>();
  /** The last second's counts, read once per second. */
  private last?: { second: number; counts: Promise<Counts> };

  constructor(
    readonly budget: number,
    private readonly redis?: Redis,
    private readonly options: { now?: () => number; keyPrefix?: string } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private keyOf(second: number): string {
    return `${this.options.keyPrefix ?? 'weft:share:runs'}:${second}`;
  }

  /** Starts `tenantId` may make in the current second, and the milliseconds until it ends. */
  async allowance(tenantId: string): Promise<{ allowance: number; resetMs: number }> {
    const at = this.now();
    const second = Math.floor(at / SECOND_MS);
    const last = await this.countsOf(second - 1);
    return {
      allowance: fairAllowance(this.budget, last, tenantId),
      resetMs: (second + 1) * SECOND_MS - at,
    };
  }

  /** Counts one admitted start of `tenantId` in the current second. */
  record(tenantId: string): void {
    const second = Math.floor(this.now() / SECOND_MS);
    let counts = this.local.get(second);
    if (!counts) {
      counts = new Map();
      this.local.set(second, counts);
      for (const old of this.local.keys()) if (old < second - 1) this.local.delete(old);
    }
    counts.set(tenantId, (counts.get(tenantId) ?? 0) + 1);
    if (this.redis?.status !== 'ready') return;
    const key = this.keyOf(second);
    // Not awaited: the start does not wait for its count. A count lost to a Redis failure makes
    // the next second's shares a little larger, not a request fail.
    this.redis
      .pipeline()
      .hincrby(key, tenantId, 1)
      .pexpire(key, KEY_TTL_MS)
      .exec()
      .catch(() => undefined);
  }

  private countsOf(second: number): Promise<Counts> {
    if (this.last?.second !== second) {
      this.last = { second, counts: this.read(second) };
    }
    return this.last.counts;
  }

  private async read(second: number): Promise<Counts> {
    const local = this.local.get(second) ?? new Map<string, number>();
    if (this.redis?.status !== 'ready') return local;
    try {
      const stored = await this.redis.hgetall(this.keyOf(second));
      return new Map(Object.entries(stored).map(([id, count]) => [id, Number(count)]));
    } catch {
      return local;
    }
  }
}
