import { isEnded, type Api } from '../api/support/client';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The p-th percentile (0–100) of `values`, nearest rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** One phase's figures: the victim's run latencies and the slowest `/health` answer. */
export interface PhaseFigures {
  runs: number;
  failedRuns: number;
  p50Ms: number;
  /** With ~15 runs (the short form's phase), the second slowest. */
  p90Ms: number;
  p99Ms: number;
  maxHealthMs: number;
}

/**
 * What the attacks must not disturb, measured from outside: a second tenant starting a steady
 * workflow at a fixed rate (each run timed from its POST to the poll that sees it ended) and
 * `/health` asked every 100 ms. Samples are tagged with the phase they started in.
 */
export class Watch {
  private phase = 'quiet';
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly runs: { phase: string; ms: number; ok: boolean }[] = [];
  private readonly health: { phase: string; ms: number }[] = [];

  constructor(
    private readonly victim: Api,
    private readonly workflowId: string,
    private readonly baseUrl: string,
    private readonly runsPerSecond = 2,
  ) {}

  start(): void {
    this.loops.push(this.startRuns(), this.probeHealth());
  }

  /** Samples from now on count for `name`. */
  enter(name: string): void {
    this.phase = name;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  runsIn(phase: string): number {
    return this.runs.filter((r) => r.phase === phase).length;
  }

  figures(phase?: (name: string) => boolean): PhaseFigures {
    const runs = this.runs.filter((r) => !phase || phase(r.phase));
    const health = this.health.filter((h) => !phase || phase(h.phase));
    const ok = runs.filter((r) => r.ok).map((r) => r.ms);
    return {
      runs: runs.length,
      failedRuns: runs.length - ok.length,
      p50Ms: percentile(ok, 50),
      p90Ms: percentile(ok, 90),
      p99Ms: percentile(ok, 99),
      maxHealthMs: Math.max(0, ...health.map((h) => h.ms)),
    };
  }

  private async startRuns(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const interval = 1000 / this.runsPerSecond;
    for (let next = Date.now(); !this.stopped; next += interval) {
      await sleep(next - Date.now());
      const phase = this.phase;
      const one = this.timeOneRun(phase).finally(() => inFlight.delete(one));
      inFlight.add(one);
    }
    await Promise.all(inFlight);
  }

  private async timeOneRun(phase: string): Promise<void> {
    const began = performance.now();
    try {
      const started = await this.victim.post(`/v1/workflows/${this.workflowId}/runs`, {
        input: { n: 1 },
      });
      if (started.status !== 202) throw new Error(`start answered ${started.status}`);
      for (;;) {
        const run = await this.victim.get(`/v1/runs/${started.body.id}`);
        if (run.status === 200 && isEnded(run.body)) {
          this.runs.push({
            phase,
            ms: performance.now() - began,
            ok: run.body.status === 'succeeded',
          });
          return;
        }
        if (performance.now() - began > 30_000) throw new Error('run did not end in 30 s');
        await sleep(20);
      }
    } catch {
      this.runs.push({ phase, ms: performance.now() - began, ok: false });
    }
  }

  private async probeHealth(): Promise<void> {
    while (!this.stopped) {
      const phase = this.phase;
      const began = performance.now();
      try {
        await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(5_000) });
      } catch {
        // A timeout counts as its full wait.
      }
      this.health.push({ phase, ms: performance.now() - began });
      await sleep(100);
    }
  }
}
