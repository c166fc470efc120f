import type { EventLog, RpcTransport, TaskQueue } from '@weft/messaging';
import type { JsonLogger, ReadinessRegistry } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { DueWorkPoller } from './engine/due-work-poller';
import { EngineService } from './engine/engine.service';
import { LostWorkRecovery } from './engine/lost-work-recovery';
import { OutboxRelay } from './engine/outbox-relay';
import { LeaseRepository } from './engine/store/lease.repository';
import { OutboxRepository } from './engine/store/outbox.repository';
import { RunRepository } from './engine/store/run.repository';
import { TenantLimitRepository } from './engine/store/tenant-limit.repository';
import { TimerRepository } from './engine/store/timer.repository';
import { Transactions } from './engine/store/transactions';
import { DEFAULT_ENGINE_POLICY, type EnginePolicy } from './engine/transition';
import { WorkflowCatalog } from './engine/workflow-catalog';
import { ProbeRepository } from './probes/probe.repository';
import { ProbeService } from './probes/probe.service';
import { RunPartitions } from './runs/run-partitions';
import { RunService } from './runs/run.service';
import { WorkflowRepository } from './workflows/workflow.repository';
import { WorkflowService } from './workflows/workflow.service';
import { RunChains } from './triggers/run-chains';
import { ApprovalLinks } from './approvals/approval-links';
import { childRunPort } from './engine/child-runs';
import { ApprovalService } from './approvals/approval.service';
import { ScheduleFirer } from './triggers/schedule-firer';
import { TriggerRepository } from './triggers/trigger.repository';

/** What the workflow service is built from; main.ts and the standalone launcher supply it. */
export interface WorkflowDeps {
  logger: JsonLogger;
  readiness: ReadinessRegistry;
  dataSource: DataSource;
  rpc: RpcTransport;
  tasks: TaskQueue;
  events: EventLog;
  /** Lease and expression-budget settings; the defaults where unset. */
  policy?: Partial<EnginePolicy>;
  /** The gateway's public URL, which approval links point to (`WEFT_PUBLIC_URL`). */
  publicUrl: string;
  /** Months of runs kept before their partitions are dropped; 6 when unset. */
  retentionMonths?: number;
  /** The platform default of a tenant's `concurrentRuns` (`WEFT_TENANT_CONCURRENT_RUNS`); 0 or unset: none. */
  defaultConcurrentRuns?: number;
  /**
   * The transports keep nothing across a restart (standalone's in-process bus): on start,
   * start the runs and resend the attempts whose messages died with the last process.
   */
  recoverLostWork?: boolean;
}

/** The services and workers of the workflow service, built once from the deps. */
export function assemble(deps: WorkflowDeps) {
  const triggers = new TriggerRepository(deps.dataSource);
  const workflowRepository = new WorkflowRepository(deps.dataSource, triggers);
  const transactions = new Transactions(deps.dataSource);
  const runRepository = new RunRepository(deps.dataSource, transactions);
  const catalog = new WorkflowCatalog(workflowRepository);
  const outbox = new OutboxRepository(transactions);
  const relay = new OutboxRelay(outbox, deps.tasks, deps.events, deps.logger);
  transactions.onCommitted((entries) => relay.committed(entries));
  const leases = new LeaseRepository(deps.dataSource);
  const chains = new RunChains(triggers, runRepository, catalog, deps.logger);
  const links = new ApprovalLinks(deps.dataSource, deps.publicUrl);
  const engine = new EngineService(
    transactions,
    runRepository,
    catalog,
    deps.logger,
    chains,
    { ...DEFAULT_ENGINE_POLICY, ...deps.policy },
    {
      signLink: links.sign,
      children: childRunPort(workflowRepository, catalog, runRepository),
      tenantLimits: new TenantLimitRepository(deps.defaultConcurrentRuns ?? 0),
    },
  );
  const runs = new RunService(transactions, runRepository, workflowRepository, catalog, engine);
  return {
    links,
    relay,
    engine,
    dueWork: new DueWorkPoller(
      transactions,
      runRepository,
      new TimerRepository(deps.dataSource),
      leases,
      engine,
      new ScheduleFirer(transactions, triggers, runRepository, catalog, deps.logger),
      deps.logger,
    ),
    recovery: new LostWorkRecovery(runRepository, leases, engine, deps.logger),
    partitions: new RunPartitions(deps.dataSource, deps.logger, deps.retentionMonths),
    workflows: new WorkflowService(workflowRepository, triggers),
    runs,
    approvals: new ApprovalService(links, runRepository, runs),
    probes: new ProbeService(new ProbeRepository(deps.dataSource), deps.tasks, deps.logger),
  };
}
export type WorkflowComponents = ReturnType<typeof assemble>;
