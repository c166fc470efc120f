import type { Redis } from 'ioredis';

/** Starts per tenant in one second. */
type Counts = ReadonlyMap<string, number>;

/** One second's starts per tenant: admitted, and refused for the fair share. */
interface Second {
  started: Counts;
  refused: Counts;
}

const SECOND_MS = 1_000;
/** Three seconds are read (the last two) and written (this one); the keys outlive them. */
const KEY_TTL_MS = 5_000;
/** A tenant's refused starts share its second's hash, under this prefix to its id. */
const REFUSED = 'refused:';

/**
 * How many runs `tenantId` may start in a second when the platform has `budget` per second in all
 * and `last` is what every tenant started in the last second. A tenant that started runs then
 * and asks for fewer than its fair share (the budget over the tenants that started runs then,
 * itself included) is not held (Infinity): a light tenant whose starts bunch up within a second
 * is not refused for a heavy one's sake. `asked` is the most the tenant asked for, admitted or
 * refused for its share, in either of the last two seconds (PlatformShare): a flooding tenant
 * asks for far more than it is given, and is never taken for a light one in a second it
 * happened to be given less than its share; nor is a tenant that took the whole budget alone,
 * in the second after.
 * Any other — a heavy tenant, or one that starts after a quiet second, which may be the first
 * second of a flood — may start its share or, when the others left more than that unused, what
 * they left. Max-min fairness, one second behind: a tenant alone may use the whole budget, and a
 * flooding tenant gets what the others leave, never less than its share.
 */
export function fairAllowance(
  budget: number,
  last: Counts,
  tenantId: string,
  asked = last.get(tenantId) ?? 0,
): number {
  let others = 0;
  let tenants = 1;
  for (const [id, count] of last) {
    if (id === tenantId || count <= 0) continue;
    others += count;
    tenants += 1;
  }
  const share = budget / tenants;
  if ((last.get(tenantId) ?? 0) > 0 && asked < share) return Infinity;
  return Math.max(share, budget - others);
}

/**
 * The platform's run starts per second (`WEFT_PLATFORM_RUNS_PER_SECOND`), shared fairly among
 * the tenants that start runs (fairAllowance). Each gateway counts the starts it admits and the
 * ones it refuses for a share, per tenant and second, in Redis, so the share holds across
 * replicas, and reads the last two seconds' counts once a second. Without Redis (standalone), or
 * while it fails, the counts are this process's own: a per-replica share rather than none, never
 * an error.
 */
export class PlatformShare {
  /** This process's counts by second (the current one and the last two), by hash field. */
  private readonly local = new Map<number, Map<string, number>>();
  /** Past seconds' counts, each read once. */
  private readonly past = new Map<number, Promise<Second>>();

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
    const [last, before] = await Promise.all([
      this.countsOf(second - 1),
      this.countsOf(second - 2),
    ]);
    const askedIn = (counts: Second) =>
      (counts.started.get(tenantId) ?? 0) + (counts.refused.get(tenantId) ?? 0);
    return {
      allowance: fairAllowance(
        this.budget,
        last.started,
        tenantId,
        Math.max(askedIn(last), askedIn(before)),
      ),
      resetMs: (second + 1) * SECOND_MS - at,
    };
  }

  /** Counts one admitted start of `tenantId` in the current second. */
  record(tenantId: string): void {
    this.count(tenantId);
  }

  /** Counts one start of `tenantId` refused for its share in the current second. */
  refuse(tenantId: string): void {
    this.count(`${REFUSED}${tenantId}`);
  }

  private count(field: string): void {
    const second = Math.floor(this.now() / SECOND_MS);
    let counts = this.local.get(second);
    if (!counts) {
      counts = new Map();
      this.local.set(second, counts);
      for (const old of this.local.keys()) if (old < second - 2) this.local.delete(old);
    }
    counts.set(field, (counts.get(field) ?? 0) + 1);
    if (this.redis?.status !== 'ready') return;
    const key = this.keyOf(second);
    // Not awaited: the start does not wait for its count. A count lost to a Redis failure makes
    // the next second's shares a little larger, not a request fail.
    this.redis
      .pipeline()
      .hincrby(key, field, 1)
      .pexpire(key, KEY_TTL_MS)
      .exec()
      .catch(() => undefined);
  }

  private countsOf(second: number): Promise<Second> {
    let counts = this.past.get(second);
    if (!counts) {
      counts = this.read(second);
      this.past.set(second, counts);
      for (const old of this.past.keys()) if (old < second - 1) this.past.delete(old);
    }
    return counts;
  }

  private async read(second: number): Promise<Second> {
    const local = this.local.get(second) ?? new Map<string, number>();
    if (this.redis?.status !== 'ready') return splitCounts(local);
    try {
      const stored = await this.redis.hgetall(this.keyOf(second));
      return splitCounts(new Map(Object.entries(stored).map(([field, n]) => [field, Number(n)])));
    } catch {
      return splitCounts(local);
    }
  }
}

/** A second's hash fields as its admitted and its refused starts per tenant. */
function splitCounts(fields: ReadonlyMap<string, number>): Second {
  const started = new Map<string, number>();
  const refused = new Map<string, number>();
  for (const [field, n] of fields) {
    if (field.startsWith(REFUSED)) refused.set(field.slice(REFUSED.length), n);
    else started.set(field, n);
  }
  return { started, refused };
}
