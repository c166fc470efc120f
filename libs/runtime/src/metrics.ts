import { collectDefaultMetrics, Counter, Gauge, register, type Metric } from 'prom-client';

/**
 * The process's Prometheus registry, served at `GET /metrics` by every service. Standalone mode
 * runs every service in one process, so a metric is created once and found again by name.
 */
export const metricsRegistry = register;

let processMetrics = false;

/** Node's own metrics (CPU, memory, event-loop lag, GC), registered once per process. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

function registered<M extends Metric>(name: string, create: () => M): M {
  return (metricsRegistry.getSingleMetric(name) as M | undefined) ?? create();
}

/**
 * A gauge; `collect` (called on each scrape, may be async) sets values read only then, such
 * as a pool's size or a replica's lag.
 */
export function gauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  collect?: (gauge: Gauge<L>) => void | Promise<void>,
) {
  return registered(name, () => {
    const created: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [metricsRegistry],
      ...(collect ? { collect: () => collect(created) } : {}),
    });
    return created;
  });
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
  return registered(
    name,
    () => new Counter<L>({ name, help, labelNames, registers: [metricsRegistry] }),
  );
}
