import {
  decodeCursor,
  DomainError,
  page,
  isTerminalRunStatus,
  runNotFound,
  type CompleteStep,
  type GetRun,
  type ListRunEvents,
  type ListRuns,
  type RunCommand,
  type RunEventPage,
  type RunPage,
  type RunStarted,
  type RunSummary,
  type RunView,
  type StartRun,
} from '@weft/contracts';
import type { EngineService } from '../engine/engine.service';
import type { WorkflowCatalog } from '../engine/workflow-catalog';
import type { WorkflowRepository } from '../workflows/workflow.repository';
import { toSummary, type RunRepository } from '../engine/store/run.repository';
import type { Transactions } from '../engine/store/transactions';
import type { EntityManager } from 'typeorm';
import { RunTally } from '../engine/run-metrics';
import { inputInvalid, insertion, newRun, startProblems } from './new-run';
import { StartBatcher } from './start-batcher';

/**
 * The run API of the engine: what the gateway asks over RPC. Reads of runs for the API answer
 * from the functions this service publishes, which the gateway calls itself (ADR 0021).
 */
export class RunService {
  /** Starts without an idempotency key, written together when they arrive together. */
  private readonly starts: StartBatcher;

  constructor(
    private readonly transactions: Transactions,
    private readonly runs: RunRepository,
    private readonly workflows: WorkflowRepository,
    private readonly catalog: WorkflowCatalog,
    private readonly engine: EngineService,
  ) {
    this.starts = new StartBatcher(engine);
  }

  /**
   * Writes the run, its pending steps and a `RunRequested` atomically (with the idempotency
   * key's claim, when there is one), so the id it answers is readable at once and the run
   * starts even if this process dies now.
   */
  async start({
    tenantId,
    workflowId,
    input,
    idempotencyKey,
    trigger,
    event,
  }: StartRun): Promise<RunStarted> {
    // Whether the tenant's starts wait is asked alongside the workflow's head, on a second
    // connection: one wait for the two instead of two in a row (a tenant with a concurrentRuns
    // limit costs a statement; under CPU contention each wait is a wake-up that queues for a
    // core, and a start's latency grows with how many it waits for in a row).
    const waiting = this.engine.startsWaiting(tenantId);
    waiting.catch(() => undefined); // awaited below unless the start is refused first
    const workflow = await this.workflows.head(tenantId, workflowId);
    if (!workflow) {
      throw new DomainError('workflow_not_found', `workflow ${workflowId} does not exist`);
    }
    if (workflow.archived) {
      throw new DomainError(
        'workflow_archived',
        `workflow ${workflowId} is archived; it starts no runs`,
      );
    }
    const compiled = await this.catalog.version(workflowId, workflow.version);
    const problems = startProblems(compiled, input, event);
    if (problems.length > 0) throw inputInvalid(problems);
    const created = newRun({
      tenantId,
      workflowId,
      version: workflow.version,
      workflow: compiled,
      input,
      trigger: trigger ?? { type: 'api' },
      event,
      waiting: await waiting,
    });
    // The run is written started (EngineService.startNew): its first steps are applied in the
    // transaction that stores it. A run that joins its tenant's waiting runs is only stored.
    const write = async (tx?: EntityManager, tally?: RunTally): Promise<void> => {
      if (created.run.waitingFor) await this.runs.write(insertion([created]), tx);
      else if (!tx) await this.starts.start(created);
      else await this.engine.startNew([created], { tx, tally: tally! });
    };
    // The answer is the run as it was accepted (SPEC: a 202 says `queued`); startNew leaves
    // `created` as it was, and a read shows how far it got since.
    const accepted: RunStarted = { run: toSummary(created.run), created: true };
    if (idempotencyKey === undefined) {
      await write();
      return accepted;
    }
    const tally = new RunTally();
    const result = await this.transactions.run(async (tx): Promise<RunStarted> => {
      const holder = await this.runs.claimKey(tx, tenantId, idempotencyKey, created.run.id);
      if (holder !== created.run.id) {
        const existing = await this.runs.findRun(tenantId, holder, tx);
        if (existing) return { run: toSummary(existing), created: false };
      }
      await write(tx, tally);
      return accepted;
    });
    if (result.created) tally.record();
    return result;
  }

  /** The run as the API shows it: the view the gateway reads too (`read_run_v1`, ADR 0021). */
  async get({ tenantId, runId }: GetRun): Promise<RunView> {
    const view = await this.runs.view(tenantId, runId);
    if (!view) throw runNotFound(runId);
    return view;
  }

  /** For gateways of the previous release during a rolling upgrade (ADR 0021). */
  async events({ tenantId, runId, afterSeq, limit }: ListRunEvents): Promise<RunEventPage> {
    const page = await this.runs.events(tenantId, runId, afterSeq, limit);
    if (!page) throw runNotFound(runId);
    return page;
  }

  /** For gateways of the previous release during a rolling upgrade (ADR 0021). */
  async list({
    tenantId,
    workflowId,
    parentRunId,
    status,
    limit,
    cursor,
  }: ListRuns): Promise<RunPage> {
    const rows = await this.runs.list({
      tenantId,
      workflowId,
      parentRunId,
      status,
      after: decodeCursor(cursor),
      limit: limit + 1,
    });
    return page(rows, limit);
  }

  async cancel({ tenantId, runId }: RunCommand): Promise<RunSummary> {
    const current = await this.runs.findRun(tenantId, runId);
    if (!current) throw runNotFound(runId);
    if (isTerminalRunStatus(current.status)) {
      throw new DomainError('run_not_cancellable', `run ${runId} has already ${current.status}`);
    }
    const run = await this.engine.apply(runId, { kind: 'cancel' }, { tenantId });
    return toSummary(run!);
  }

  /**
   * Decides a waiting approval step. The same decision again is answered as done (a client
   * may retry) unless `once` (a signed link, single use); a step that is not an approval, or
   * that was decided otherwise or timed out, is a conflict.
   */
  async complete({
    tenantId,
    runId,
    stepId,
    decision,
    output,
    once,
    attempt,
  }: CompleteStep): Promise<RunView> {
    const stepOf = async () => {
      if (!(await this.runs.findRun(tenantId, runId))) throw runNotFound(runId);
      const step = (await this.runs.stepsOf([runId])).get(runId)!.get(stepId);
      if (!step) {
        throw new DomainError('run_step_not_found', `run ${runId} has no step ${stepId}`);
      }
      return step;
    };
    const before = await stepOf();
    if (attempt !== undefined && before.attempt !== attempt) {
      throw new DomainError(
        'run_step_not_waiting',
        `the link was made for an earlier attempt of ${stepId}`,
      );
    }
    if (before.waiting?.kind === 'approval') {
      await this.engine.apply(runId, { kind: 'complete', stepId, decision, output }, { tenantId });
    }
    const after = await stepOf();
    const decided = (after.output as { decision?: unknown } | null)?.decision;
    const ours = before.waiting?.kind === 'approval' && after.waiting === null;
    if (
      after.type !== 'approval' ||
      decided !== decision ||
      (once && !ours) ||
      !['succeeded', 'failed'].includes(after.status)
    ) {
      throw new DomainError(
        'run_step_not_waiting',
        after.type !== 'approval'
          ? `step ${stepId} is a ${after.type} step, not an approval`
          : `step ${stepId} is ${after.status}${typeof decided === 'string' ? ` (decided: ${decided})` : ''}; it takes no ${decision} now`,
      );
    }
    return this.get({ schemaVersion: 1, tenantId, runId });
  }

  async retry({ tenantId, runId }: RunCommand): Promise<RunSummary> {
    const current = await this.runs.findRun(tenantId, runId);
    if (!current) throw runNotFound(runId);
    if (current.status !== 'failed') {
      throw new DomainError(
        'run_not_retryable',
        `run ${runId} is ${current.status}; only a failed run retries`,
      );
    }
    const run = await this.engine.apply(runId, { kind: 'retry' }, { tenantId });
    return toSummary(run!);
  }
}
