import { ConsumerGroups, EventTopics, TaskQueues, WorkflowRpc } from '@weft/contracts';
import { answerOutagesAsUnavailable, type RpcHandlers } from '@weft/messaging';
import { isDatabaseUnavailable } from '@weft/persistence';
import { GroupCommit } from './engine/group-commit';
import type { RunSignalFor } from './engine/engine.service';
import type { RunState } from './engine/run-state';
import type { WorkflowComponents, WorkflowDeps } from './workflow.components';

/** The most signals one engine transaction applies (a Kafka handler's batch is at most 200). */
const SIGNAL_BATCH = 400;
/** Engine transactions of signals in flight at once. */
const SIGNAL_LANES = 2;

/**
 * The workflow service's transports, kept thin: Kafka consumers and RPC handlers unpack a
 * message and hand it to a service.
 */
export async function serveTransports(
  components: WorkflowComponents,
  deps: Pick<WorkflowDeps, 'events' | 'tasks' | 'rpc'>,
): Promise<void> {
  const { engine, runs, workflows, probes, approvals } = components;
  const { events } = deps;
  // The records of every partition handed over in one turn are applied in one transaction
  // (at most SIGNAL_LANES at once): on a small machine, where each partition's batch holds a
  // record or two, this is what keeps transactions per run down (docs/performance.md).
  const signals = new GroupCommit<RunSignalFor, RunState | undefined>({
    write: (batch) => engine.applyAll(batch),
    maxBatch: SIGNAL_BATCH,
    inFlight: SIGNAL_LANES,
    gatherTurn: true,
  });
  events.subscribeBatch(
    EventTopics.runRequests,
    ConsumerGroups.workflowEngine,
    async (requests) => {
      await signals.submit(
        requests.map(({ runId, cancel }) => ({
          runId,
          signal: cancel ? { kind: 'cancel' } : { kind: 'start' },
        })),
      );
    },
  );
  events.subscribeBatch(EventTopics.stepResults, ConsumerGroups.workflowEngine, async (results) => {
    const runs = await signals.submit(
      results.map((result) => ({ runId: result.runId, signal: { kind: 'result', result } })),
    );
    // A result for no run belongs to a readiness probe.
    for (const [i, result] of results.entries()) {
      if (!runs[i]) await probes.onStepResult(result);
    }
  });
  // A task its worker gave up on fails its attempt, so the run moves on (retry or fail).
  for (const [worker, channel] of Object.entries(TaskQueues)) {
    await deps.tasks.consumeDeadLetters(channel, async (task, reason) => {
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
    'workflows.schedules': (request) => workflows.schedules(request),
    'triggers.events': () => workflows.eventTriggers(),
    'webhooks.resolve': (request) => workflows.resolveWebhook(request),
    'runs.start': (request) => runs.start(request),
    'runs.get': (request) => runs.get(request),
    // For gateways of the previous release during a rolling upgrade (ADR 0021).
    'runs.list': (request) => runs.list(request),
    'runs.events': (request) => runs.events(request),
    'runs.cancel': (request) => runs.cancel(request),
    'runs.retry': (request) => runs.retry(request),
    'runs.complete': (request) => runs.complete(request),
    'approvals.open': (request) => approvals.open(request),
    'approvals.use': (request) => approvals.use(request),
    'tenants.limits.put': async ({ tenantId, concurrentRuns }) => {
      await engine.putTenantLimits(tenantId, concurrentRuns);
      return { concurrentRuns };
    },
  };
  await deps.rpc.serve(WorkflowRpc, answerOutagesAsUnavailable(handlers, isDatabaseUnavailable));
}
