import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  register,
  type Metric,
} from 'prom-client';

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

/** A service that serves `/metrics`; standalone serves every family of the four. */
export type MetricService = 'gateway' | 'workflow' | 'integration' | 'ai';

export interface MetricFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  labels: readonly string[];
  /**
   * The services whose `/metrics` always show the family (the test of every service's
   * `/metrics` checks them); empty for a family another part of the platform registers when
   * configured for it.
   */
  servedBy: readonly MetricService[];
}

const ALL: readonly MetricService[] = ['gateway', 'workflow', 'integration', 'ai'];
const WORKERS: readonly MetricService[] = ['integration', 'ai'];

/**
 * Every Weft metric family: one constant per name, so a dashboard, an alert rule or a test
 * that names a family can be checked against this list (deploy/deploy.spec.ts), and the
 * operations guide describes the same families (docs/operations.md § Metrics). Labels are
 * low-cardinality only: never a run, tenant, workflow or step id (the circuit breaker's
 * per-circuit gauge is the one exception, bounded per process; see its help).
 */
export const METRICS = {
  httpRequests: {
    name: 'weft_http_requests_total',
    type: 'counter',
    help: 'HTTP requests answered, by method, route template and status code',
    labels: ['method', 'route', 'code'],
    servedBy: ALL,
  },
  httpRequestDuration: {
    name: 'weft_http_request_duration_seconds',
    type: 'histogram',
    help: 'Time from a request’s arrival to its response, by method, route template and status code',
    labels: ['method', 'route', 'code'],
    servedBy: ALL,
  },
  httpShed: {
    name: 'weft_http_shed_total',
    type: 'counter',
    help: 'Requests the gateway answered 503 under load, by reason: in_flight, event_loop, pending',
    labels: ['reason'],
    servedBy: ['gateway'],
  },
  rateLimited: {
    name: 'weft_rate_limited_total',
    type: 'counter',
    help: 'Requests answered 429 because their tenant was over a limit, by limit: requests, runs, fair_share (its share of the platform budget)',
    labels: ['kind'],
    servedBy: ['gateway'],
  },
  runsStarted: {
    name: 'weft_runs_started_total',
    type: 'counter',
    help: 'Runs that began running: a queued run started, or a failed run retried',
    labels: [],
    servedBy: ['workflow'],
  },
  runsFinished: {
    name: 'weft_runs_finished_total',
    type: 'counter',
    help: 'Runs that ended, by status: succeeded, failed, cancelled',
    labels: ['status'],
    servedBy: ['workflow'],
  },
  runsWaiting: {
    name: 'weft_runs_waiting',
    type: 'gauge',
    help: 'Queued runs waiting for a slot: of their workflow’s concurrency key, or of their tenant’s concurrentRuns (every engine replica reports the whole; take the max)',
    labels: ['for'],
    servedBy: ['workflow'],
  },
  slotsHeld: {
    name: 'weft_slots_held',
    type: 'gauge',
    help: 'Slots held by running runs: of concurrency keys, or of tenants’ concurrentRuns (every replica reports the whole; take the max)',
    labels: ['scope'],
    servedBy: ['workflow'],
  },
  stepAttempts: {
    name: 'weft_step_attempts_total',
    type: 'counter',
    help: 'Step attempts a worker ran to their end, by step type and outcome: succeeded, failed, timeout, cancelled',
    labels: ['type', 'outcome'],
    servedBy: WORKERS,
  },
  stepDuration: {
    name: 'weft_step_duration_seconds',
    type: 'histogram',
    help: 'How long a worker ran a step attempt, by step type',
    labels: ['type'],
    servedBy: WORKERS,
  },
  stallsRepaired: {
    name: 'weft_stalled_work_repaired_total',
    type: 'counter',
    help: 'Signals the engine sent again for work that had not moved for two minutes (a run request or a child end that went missing)',
    labels: [],
    servedBy: ['workflow'],
  },
  leasesReaped: {
    name: 'weft_step_leases_reaped_total',
    type: 'counter',
    help: 'Step attempts whose lease expired (their worker stopped reporting) and that the engine failed as lost',
    labels: [],
    servedBy: ['workflow'],
  },
  scheduleSlots: {
    name: 'weft_schedule_slots_total',
    type: 'counter',
    help: 'Schedule slots, by outcome: fired (a run started), skipped (the last run was still active), missed (past catch-up)',
    labels: ['outcome'],
    servedBy: ['workflow'],
  },
  outboxRows: {
    name: 'weft_outbox_rows',
    type: 'gauge',
    help: 'Outbox rows not yet sent to RabbitMQ or Kafka (every engine replica reports the whole; take the max)',
    labels: [],
    servedBy: ['workflow'],
  },
  outboxOldestAge: {
    name: 'weft_outbox_oldest_age_seconds',
    type: 'gauge',
    help: 'Age of the oldest outbox row not yet sent; 0 when the outbox is empty',
    labels: [],
    servedBy: ['workflow'],
  },
  queueMessages: {
    name: 'weft_queue_messages',
    type: 'gauge',
    help: 'Messages ready in a RabbitMQ queue this process consumes (every consumer reports the whole; take the max)',
    labels: ['queue'],
    servedBy: ['workflow', 'integration', 'ai'],
  },
  kafkaConsumerLag: {
    name: 'weft_kafka_consumer_lag',
    type: 'gauge',
    help: 'Records of a topic its consumer group has not committed yet, summed over partitions (every member reports the whole; take the max)',
    labels: ['group', 'topic'],
    servedBy: ['workflow'],
  },
  deadLetters: {
    name: 'weft_dead_letters_total',
    type: 'counter',
    help: 'Messages dead-lettered, by the queue or topic they came from',
    labels: ['source'],
    servedBy: ['workflow', 'integration', 'ai'],
  },
  circuitBreakerState: {
    name: 'weft_circuit_breaker_state',
    type: 'gauge',
    help: "A provider's circuit: 0 closed, 1 open (skipped), 2 half-open (one probe call in flight); one series per tenant and credential, at most 10,000 per process",
    labels: ['worker', 'tenant', 'credential'],
    servedBy: WORKERS,
  },
  circuitBreakers: {
    name: 'weft_circuit_breakers',
    type: 'gauge',
    help: 'Provider circuits this process knows, by state: closed, open, half_open',
    labels: ['worker', 'state'],
    servedBy: WORKERS,
  },
  circuitBreakerOpened: {
    name: 'weft_circuit_breaker_opened_total',
    type: 'counter',
    help: 'Times a circuit opened (its provider failed too often, or its probe failed)',
    labels: ['worker'],
    servedBy: WORKERS,
  },
  dbPoolConnections: {
    name: 'weft_db_pool_connections',
    type: 'gauge',
    help: 'Connections of this process’s PostgreSQL pool, by schema and state: idle, busy',
    labels: ['database', 'state'],
    servedBy: ALL,
  },
  dbPoolWaiting: {
    name: 'weft_db_pool_waiting',
    type: 'gauge',
    help: 'Queries waiting for a connection of this process’s PostgreSQL pool, by schema',
    labels: ['database'],
    servedBy: ALL,
  },
  dbReplicaLag: {
    name: 'weft_db_replica_lag_seconds',
    type: 'gauge',
    help: 'How far the read replica (DATABASE_READ_URL) replays behind the primary, per schema',
    labels: ['schema'],
    // Registered where a read replica is configured.
    servedBy: [],
  },
} as const satisfies Record<string, MetricFamily>;

type LabelsOf<F extends MetricFamily> = F['labels'][number];

function registered<M extends Metric>(name: string, create: () => M): M {
  return (metricsRegistry.getSingleMetric(name) as M | undefined) ?? create();
}

function check(family: MetricFamily, type: MetricFamily['type']): void {
  if (family.type !== type) throw new Error(`${family.name} is a ${family.type}, not a ${type}`);
}

/**
 * A gauge of the catalogue. `collect`, when given, runs at each scrape to set the values
 * (e.g. a pool's connection counts), so nothing polls between scrapes.
 */
export function gauge<F extends MetricFamily>(
  family: F,
  collect?: (gauge: Gauge<LabelsOf<F>>) => void | Promise<void>,
): Gauge<LabelsOf<F>> {
  check(family, 'gauge');
  return registered(
    family.name,
    () =>
      new Gauge<LabelsOf<F>>({
        name: family.name,
        help: family.help,
        labelNames: family.labels,
        registers: [metricsRegistry],
        ...(collect && {
          collect(this: Gauge<LabelsOf<F>>) {
            return collect(this);
          },
        }),
      }),
  );
}

export function counter<F extends MetricFamily>(family: F): Counter<LabelsOf<F>> {
  check(family, 'counter');
  return registered(
    family.name,
    () =>
      new Counter<LabelsOf<F>>({
        name: family.name,
        help: family.help,
        labelNames: family.labels,
        registers: [metricsRegistry],
      }),
  );
}

/** Seconds, from a millisecond to five minutes: HTTP requests and step attempts alike. */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

export function histogram<F extends MetricFamily>(
  family: F,
  buckets: readonly number[] = DURATION_BUCKETS,
): Histogram<LabelsOf<F>> {
  check(family, 'histogram');
  return registered(
    family.name,
    () =>
      new Histogram<LabelsOf<F>>({
        name: family.name,
        help: family.help,
        labelNames: family.labels,
        buckets: [...buckets],
        registers: [metricsRegistry],
      }),
  );
}
