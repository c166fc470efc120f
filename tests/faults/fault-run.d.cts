import type { IdsPerStep } from './message-ids.cjs';

export type FaultKind = 'kill' | 'rabbitmq' | 'kafka' | 'postgres';
export declare const FAULT_KINDS: readonly FaultKind[];

export interface FaultOptions {
  /** The distributed stack (four processes, real brokers) or standalone mode (one process). */
  mode?: 'stack' | 'standalone';
  /** Runs to submit (1000). */
  runs?: number;
  /** Fault kinds to inject (all). */
  faults?: FaultKind[];
  /** `kill -9` rounds per service (3). */
  killsPerService?: number;
  /** Processes of each service in stack mode (1); with more, gateways share the port. */
  replicas?: number;
  /** PostgreSQL through the machine's PgBouncer in transaction mode (on with replicas > 1). */
  pgbouncer?: boolean;
  /** An engine added, then removed, during the load (on with replicas > 1). */
  scaleEvents?: boolean;
  /** The tenant's `concurrentRuns` limit (10): every top-level run takes one of its slots. */
  concurrentRuns?: number;
  /** Submission window; the faults fall at random moments inside it (runs × 150 ms, ≥ 30 s). */
  durationMs?: number;
  killPauseMs?: [number, number];
  outageMs?: [number, number];
  /** How long to wait for every run to end after the last fault (10 min). */
  quiesceTimeoutMs?: number;
  triggerTimeoutMs?: number;
  maxInFlightTriggers?: number;
  basePort?: number;
  database?: string;
  seed?: number;
  /** Where the JSON and Markdown reports go (bench/results); null writes none. */
  resultsDir?: string | null;
  /** The services' log lines (.cache/faults/…); null keeps none. */
  logFile?: string | null;
  /** Share of first calls the honoured target answers 503 without an effect (0.02). */
  refuseRate?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  serviceReadyTimeoutMs?: number;
  logLevel?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface TargetStats {
  route: 'honoured' | 'plain';
  calls: number;
  effects: number;
  replays: number;
  refused: number;
  missingKey: number;
  keys: number;
  maxEffectsPerKey: number;
  maxCallsPerKey: number;
  keysWithSeveralCalls: number;
  keysWithSeveralEffects: string[];
  subjectsWithSeveralEffects: string[];
  keysNotMatchingSubject: string[];
}

export interface FaultReport {
  passed: boolean;
  seed: number;
  counts: {
    submitted: number;
    acknowledged: number;
    acknowledged202: number;
    acknowledgedOnRetry200: number;
    unacknowledged: number;
    unacknowledgedButStarted: number;
    rejected: number;
    succeeded: number;
    failed: number;
    cancelled: number;
    lost: number;
    stuck: number;
    duplicated: number;
    listed: number;
    replayedKeysAnsweredSameRun: number;
    /** Submissions sent as signed webhook deliveries (one in four). */
    viaWebhook: number;
  };
  /** Foreach runs (20 items each) started beside the submissions. */
  foreach: {
    started: number;
    runs: number;
    succeeded: number;
    failed: number;
    stuck: number;
    itemsWithoutOneEffect: number;
    outputsOutOfOrder: number;
    items: number;
  };
  /** The `workflow.run` children of the submitted runs. */
  children: { runs: number; stuck: number; duplicated: number; missing: number };
  /** The tenant's slots held (`weft_slots_held`), sampled every 500 ms until quiescence. */
  concurrency: { limit: number; samples: number; maxRunning: number; sawWaiting: boolean };
  /** The `* * * * * *` schedule that fires the same steps while the faults run. */
  schedule: {
    counts: {
      runs: number;
      slots: number;
      succeeded: number;
      failed: number;
      stuck: number;
      duplicatedSlots: number;
      missingSlots: number;
      succeededWithoutEffect: number;
      firstSlot: string | null;
      lastSlot: string | null;
    };
    view: unknown;
    details: Record<string, unknown[]>;
  };
  /**
   * The `mail` (email.send) and `publish` (kafka.publish) steps' messages at the real servers:
   * distinct Message-IDs / `idempotency-key` headers per `{runId}:{stepId}`.
   */
  messages: {
    email: IdsPerStep & {
      server: string;
      /** Messages accepted, those among them answered 451 after being kept, and those cut off. */
      withheld: number;
      interrupted: number;
    };
    kafka: IdsPerStep & {
      topic: string;
      /** Whether the read-back reached every partition's high watermark. */
      complete: boolean;
      recordsAtTheBroker: number;
    };
  };
  effects: {
    honoured: TargetStats;
    plain: TargetStats;
    succeededWithoutEffect: { runId: string; effects: number }[];
  };
  failedCodes: Record<string, number>;
  timings: {
    totalMs: number;
    submissionWindowMs: number;
    stackReadyAtMs: number;
    lastAcknowledgedAtMs: number;
    lastFaultRecoveredAtMs: number | null;
    /** When both the submission and the last fault had ended. */
    calmAtMs: number;
    quiescedAtMs: number | null;
    /** From `calmAtMs` to no run queued or running. */
    quiescenceMs: number | null;
  };
  /** What the engines' stall sweep sent again (each a message that went missing). */
  stalled: { signals: number; runs: string[] };
  faults: {
    kind: 'kill' | 'restart' | 'scale-out' | 'scale-in';
    target: string;
    replica?: string;
    startedAtMs: number;
    downMs: number;
  }[];
  supervisor: {
    unplannedExits: { service: string; code: number | null; signal: string | null }[];
    readinessRestarts: { service: string; after: string }[];
  };
  serviceLogTally: Record<string, number>;
  details: Record<string, unknown[]>;
  warnings: string[];
  logFile: string | null;
  files?: { json: string; markdown: string };
}

export declare function runFaults(options?: FaultOptions): Promise<FaultReport>;
export declare function summaryOf(report: FaultReport): string;
export declare function markdownOf(report: FaultReport): string;
