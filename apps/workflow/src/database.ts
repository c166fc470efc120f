import type { ServiceDatabase } from '@weft/persistence';
import { CreateProbes1763900000000 } from './migrations/1763900000000-create-probes';
import { CreateWorkflowsAndRuns1763990000000 } from './migrations/1763990000000-create-workflows-and-runs';
import { AddStepLeases1764100000000 } from './migrations/1764100000000-add-step-leases';
import { PartitionRunsByMonth1764200000000 } from './migrations/1764200000000-partition-runs-by-month';
import { StoreRunEvents1764300000000 } from './migrations/1764300000000-store-run-events';
import { MeterRunExpressions1764400000000 } from './migrations/1764400000000-meter-run-expressions';
import { WebhooksAndRunTriggers1764500000000 } from './migrations/1764500000000-webhooks-and-run-triggers';
import { WebhookSecrets1764600000000 } from './migrations/1764600000000-webhook-secrets';
import { SchedulesAndRunTriggers1764700000000 } from './migrations/1764700000000-schedules-and-run-triggers';
import { EventTriggers1764800000000 } from './migrations/1764800000000-event-triggers';
import { StepWaiting1764900000000 } from './migrations/1764900000000-step-waiting';
import { ChildRuns1765000000000 } from './migrations/1765000000000-child-runs';
import { StepOutputsOutOfLine1765100000000 } from './migrations/1765100000000-step-outputs-out-of-line';
import { ForeachItems1765200000000 } from './migrations/1765200000000-foreach-items';
import { UniqueWorkflowNames1765300000000 } from './migrations/1765300000000-unique-workflow-names';
import { ConcurrencySlots1765400000000 } from './migrations/1765400000000-concurrency-slots';
import { TenantConcurrentRuns1765600000000 } from './migrations/1765600000000-tenant-concurrent-runs';
import { TimersByRun1765700000000 } from './migrations/1765700000000-timers-by-run';
import { PublishedRunReads1765800000000 } from './migrations/1765800000000-published-run-reads';
import { RunListStatistics1765900000000 } from './migrations/1765900000000-run-list-statistics';
import { IndexesForStalledWork1766000000000 } from './migrations/1766000000000-indexes-for-stalled-work';
import { NoStatisticsOnJson1766100000000 } from './migrations/1766100000000-no-statistics-on-json';

/** The workflow service's PostgreSQL schema: runs, steps, timers and probes live here. */
export const workflowDatabase: ServiceDatabase = {
  schema: 'workflow',
  migrations: [
    CreateProbes1763900000000,
    CreateWorkflowsAndRuns1763990000000,
    AddStepLeases1764100000000,
    PartitionRunsByMonth1764200000000,
    StoreRunEvents1764300000000,
    MeterRunExpressions1764400000000,
    WebhooksAndRunTriggers1764500000000,
    WebhookSecrets1764600000000,
    SchedulesAndRunTriggers1764700000000,
    EventTriggers1764800000000,
    StepWaiting1764900000000,
    ChildRuns1765000000000,
    StepOutputsOutOfLine1765100000000,
    ForeachItems1765200000000,
    UniqueWorkflowNames1765300000000,
    ConcurrencySlots1765400000000,
    TenantConcurrentRuns1765600000000,
    TimersByRun1765700000000,
    PublishedRunReads1765800000000,
    RunListStatistics1765900000000,
    IndexesForStalledWork1766000000000,
    NoStatisticsOnJson1766100000000,
  ],
};
