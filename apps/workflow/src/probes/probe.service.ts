import { randomUUID } from 'node:crypto';
import {
  DomainError,
  PROBE_STEP_TYPE,
  SYSTEM_TENANT_ID,
  TaskQueues,
  type ProbeView,
  type StepResult,
} from '@weft/contracts';
import type { TaskQueue } from '@weft/messaging';
import type { JsonLogger } from '@weft/runtime';
import type { ProbeRepository } from './probe.repository';

/** Each worker service answers one hop of a probe. */
const HOPS = [
  { stepId: 'integration', channel: TaskQueues.integration },
  { stepId: 'ai', channel: TaskQueues.ai },
] as const;

/** End-to-end probes: a probe's hops cross both task queues and the result topic. */
export class ProbeService {
  constructor(
    private readonly probes: ProbeRepository,
    private readonly tasks: TaskQueue,
    private readonly logger: JsonLogger,
  ) {}

  async start(): Promise<string> {
    const probeId = randomUUID();
    await this.probes.create(probeId);
    await Promise.all(
      HOPS.map(({ stepId, channel }) =>
        this.tasks.publish(channel, {
          schemaVersion: 1,
          runId: probeId,
          tenantId: SYSTEM_TENANT_ID,
          stepId,
          stepType: PROBE_STEP_TYPE,
          attempt: 1,
          idempotencyKey: `${probeId}:${stepId}`,
          input: { sentAt: new Date().toISOString() },
          timeoutMs: 10_000,
        }),
      ),
    );
    return probeId;
  }

  async get(probeId: string): Promise<ProbeView> {
    const probe = await this.probes.find(probeId);
    if (!probe) throw new DomainError('probe_not_found', `probe ${probeId} does not exist`);
    return probe;
  }

  /** Records a worker's answer to a probe's hop. */
  async onStepResult(result: StepResult): Promise<void> {
    if (result.outcome === 'running') return; // probes are too quick to heartbeat
    const probe = await this.probes.recordHop(
      result.runId,
      { service: result.worker, stepId: result.stepId, finishedAt: result.finishedAt },
      HOPS.length,
    );
    if (!probe) {
      this.logger.event('debug', 'step result for no pending probe', { runId: result.runId });
      return;
    }
  }
}
