import {
  Inject,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ConsumerGroups, EventTopics, TaskQueues, WorkflowRpc } from '@weft/contracts';
import {
  answerOutagesAsUnavailable,
  type EventLog,
  type RpcHandlers,
  type RpcTransport,
  type TaskQueue,
} from '@weft/messaging';
import { isDatabaseUnavailable } from '@weft/persistence';
import { HealthModule, JsonLogger, type ReadinessRegistry } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { EngineService } from './engine/engine.service';
import { OutboxRelay } from './engine/outbox-relay';
import { DueWorkPoller } from './engine/due-work-poller';
import type { EnginePolicy } from './engine/transition';
import { WorkflowCatalog } from './engine/workflow-catalog';
import { ProbeRepository } from './probes/probe.repository';
import { ProbeService } from './probes/probe.service';
import { RunPartitions } from './runs/run-partitions';
import { RunRepository } from './runs/run.repository';
import { RunService } from './runs/run.service';
import { WorkflowRepository } from './workflows/workflow.repository';
import { WorkflowService } from './workflows/workflow.service';

/** What the workflow service is built from; main.ts and the standalone launcher supply it. */
export interface WorkflowDeps {
  logger: JsonLogger;
  readiness: ReadinessRegistry;
  dataSource: DataSource;
  rpc: RpcTransport;
  tasks: TaskQueue;
  events: EventLog;
  /** Lease settings; the defaults when unset. */
  policy?: EnginePolicy;
  /** Months of runs kept before their partitions are dropped; 6 when unset. */
  retentionMonths?: number;
}

const DEPS = Symbol('WorkflowDeps');
const ENGINE = Symbol('Engine');

/** The parts of the engine, built once from the deps. */
function assemble(deps: WorkflowDeps) {
  const workflowRepository = new WorkflowRepository(deps.dataSource);
  const runRepository = new RunRepository(deps.dataSource);
  const catalog = new WorkflowCatalog(workflowRepository);
  const relay = new OutboxRelay(runRepository, deps.tasks, deps.events, deps.logger);
  const wake = () => relay.wake();
  const engine = new EngineService(runRepository, catalog, deps.logger, wake, deps.policy);
  return {
    relay,
    engine,
    dueWork: new DueWorkPoller(runRepository, engine, deps.logger, wake),
    partitions: new RunPartitions(deps.dataSource, deps.logger, deps.retentionMonths),
    workflows: new WorkflowService(workflowRepository),
    runs: new RunService(runRepository, workflowRepository, catalog, engine, wake),
    probes: new ProbeService(new ProbeRepository(deps.dataSource), deps.tasks, deps.logger),
  };
}
type Engine = ReturnType<typeof assemble>;

/**
 * The engine's transports, kept thin: RPC handlers and Kafka consumers unpack a message and
 * hand it to a service.
 */
@Module({})
export class WorkflowModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(DEPS) private readonly deps: WorkflowDeps,
    @Inject(ENGINE) private readonly engine: Engine,
  ) {}

  static forRoot(deps: WorkflowDeps): DynamicModule {
    return {
      module: WorkflowModule,
      imports: [HealthModule.forRoot(deps.readiness)],
      providers: [
        { provide: DEPS, useValue: deps },
        { provide: ENGINE, useValue: assemble(deps) },
        { provide: JsonLogger, useValue: deps.logger },
      ],
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { engine, runs, workflows, probes, relay, dueWork, partitions } = this.engine;
    const { events } = this.deps;
    // A partition's records in one transaction each batch: the engine's main lever on
    // throughput (docs/performance.md).
    events.subscribeBatch(
      EventTopics.runRequests,
      ConsumerGroups.workflowEngine,
      async (requests) => {
        await engine.applyAll(requests.map(({ runId }) => ({ runId, signal: { kind: 'start' } })));
      },
    );
    events.subscribeBatch(
      EventTopics.stepResults,
      ConsumerGroups.workflowEngine,
      async (results) => {
        const runs = await engine.applyAll(
          results.map((result) => ({ runId: result.runId, signal: { kind: 'result', result } })),
        );
        // A result for no run belongs to a readiness probe.
        for (const [i, result] of results.entries()) {
          if (!runs[i]) await probes.onStepResult(result);
        }
      },
    );
    // A task its worker gave up on fails its attempt, so the run moves on (retry or fail).
    for (const [worker, channel] of Object.entries(TaskQueues)) {
      await this.deps.tasks.consumeDeadLetters(channel, async (task, reason) => {
        await engine.applyDeadTask(task, worker, reason);
      });
    }
    // While PostgreSQL restarts, callers get `unavailable` (503, Retry-After), not `internal`.
    const handlers: RpcHandlers<typeof WorkflowRpc> = {
      'probe.start': async () => ({ schemaVersion: 1 as const, probeId: await probes.start() }),
      'probe.get': ({ probeId }) => probes.get(probeId),
      'workflows.create': (request) => workflows.create(request),
      'workflows.update': (request) => workflows.update(request),
      'workflows.get': (request) => workflows.get(request),
      'workflows.list': (request) => workflows.list(request),
      'workflows.archive': (request) => workflows.archive(request),
      'runs.start': (request) => runs.start(request),
      'runs.get': (request) => runs.get(request),
      'runs.list': (request) => runs.list(request),
      'runs.events': (request) => runs.events(request),
      'runs.cancel': (request) => runs.cancel(request),
      'runs.retry': (request) => runs.retry(request),
    };
    await this.deps.rpc.serve(
      WorkflowRpc,
      answerOutagesAsUnavailable(handlers, isDatabaseUnavailable),
    );
    relay.start();
    dueWork.start();
    partitions.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.engine.partitions.stop();
    await this.engine.dueWork.stop();
    await this.engine.relay.stop();
  }
}
