export type ReadinessCheck = () => Promise<unknown>;

export interface ReadinessReport {
  status: 'ready' | 'unready';
  checks: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
}

/**
 * Collects a check per real connection a service holds (database, Redis, RabbitMQ, Kafka).
 * `/ready` runs them all in parallel, each bounded in time, so a hung dependency makes the
 * pod unready instead of hanging the probe.
 */
export class ReadinessRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(private readonly timeoutMs = 2_000) {}

  register(name: string, check: ReadinessCheck): void {
    if (this.checks.has(name)) throw new Error(`readiness check "${name}" registered twice`);
    this.checks.set(name, check);
  }

  names(): string[] {
    return [...this.checks.keys()];
  }

  async report(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        const started = performance.now();
        try {
          await withTimeout(check(), this.timeoutMs, name);
          return [name, { ok: true, latencyMs: elapsed(started) }] as const;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return [name, { ok: false, latencyMs: elapsed(started), error: message }] as const;
        }
      }),
    );
    const checks: ReadinessReport['checks'] = {};
    for (const [name, result] of entries) checks[name] = result;
    const status = entries.every(([, result]) => result.ok) ? 'ready' : 'unready';
    return { status, checks };
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
