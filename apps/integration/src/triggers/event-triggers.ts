import {
  DomainError,
  jsonStorageProblem,
  WorkflowRpc,
  type EventTriggerView,
  type OpenedCredential,
} from '@weft/contracts';
import { compileTemplate, evaluateCondition, type CompiledTemplate } from '@weft/definitions';
import type { EgressGuard } from '@weft/egress';
import type { RpcTransport } from '@weft/messaging';
import type { JsonLogger } from '@weft/runtime';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { tenantKafka } from '../connectors/broker-clients';

/** How often the consumers are reconciled with the saved triggers. */
const RECONCILE_MS = 2_000;
/** A record larger than this is poison: skipped, never a run (SPEC's 1 MiB input). */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** Records of one partition started at once; their offsets are committed together after. */
const CONCURRENCY = 32;
/** Answers from the workflow service that no retry changes: the record is skipped. */
const REFUSALS = new Set(['run_input_invalid', 'workflow_archived', 'workflow_not_found']);

/** The idempotency key of a record (SPEC §2): a record starts at most one run. */
export const eventKey = (workflowId: string, topic: string, partition: number, offset: string) =>
  `event:${workflowId}:${topic}:${partition}:${offset}`;

/** The consumer group of a trigger: a new one when its credential or topic is saved anew. */
export const eventTriggerGroup = (trigger: EventTriggerView) =>
  `weft.trigger.${trigger.workflowId}.${trigger.index}.${Date.parse(trigger.savedAt)}`;

export interface EventTriggerDeps {
  rpc: RpcTransport;
  /** Opens the tenant's `kafka` credential (this service's vault). */
  openCredential: (tenantId: string, name: string) => Promise<OpenedCredential>;
  egress: EgressGuard;
  logger: JsonLogger;
  reconcileMs?: number;
}

interface Running {
  trigger: EventTriggerView;
  filter: CompiledTemplate | undefined;
  consumer: Consumer;
}

/**
 * Consumes the Kafka topics that tenants' `event` triggers name, on the clusters of their
 * `kafka` credentials, and starts a run per record. Lives in the integration service, beside
 * the vault and the egress guard, so the engine holds no tenant secret and no tenant broker
 * can slow its loop (ADR 0014).
 *
 * - One consumer group per trigger; every replica of this service joins it, so Kafka spreads
 *   a topic's partitions across replicas and hands them over when one goes.
 * - A new group starts at the offsets of the moment the trigger was saved (or the earliest
 *   with `fromBeginning`).
 * - A record's run is started over RPC with the record's key; its offset is committed once
 *   the workflow service has answered, i.e. once the run is durable. A redelivery (a crash
 *   before the commit, a rebalance) finds the key taken and starts nothing.
 * - Poison (too large, unstorable, a filter that throws, an input the workflow refuses) is
 *   logged and skipped, so it never blocks its partition. An outage of the workflow service is
 *   not poison: the batch is retried until it answers.
 * - Triggers come and go with saves and archives: reconciled every couple of seconds.
 */
export class EventTriggerConsumers {
  private readonly running = new Map<string, Running>();
  private readonly starting = new Set<string>();
  private timer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;
  private unreachable = false;

  constructor(private readonly deps: EventTriggerDeps) {}

  start(): void {
    const tick = () => {
      this.reconciling ??= this.reconcile()
        .catch((error: unknown) => {
          if (!this.unreachable) {
            this.deps.logger.event('warn', 'event triggers: cannot list the triggers', {
              err: error,
            });
          }
          this.unreachable = true;
        })
        .finally(() => (this.reconciling = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.deps.reconcileMs ?? RECONCILE_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.reconciling;
    await Promise.all([...this.running.keys()].map((group) => this.stopOne(group)));
  }

  private async reconcile(): Promise<void> {
    const { items } = await this.deps.rpc.call(WorkflowRpc, 'triggers.events', {
      schemaVersion: 1,
    });
    this.unreachable = false;
    const desired = new Map(items.map((trigger) => [eventTriggerGroup(trigger), trigger]));
    for (const group of this.running.keys()) {
      if (!desired.has(group)) await this.stopOne(group);
    }
    for (const [group, trigger] of desired) {
      const running = this.running.get(group);
      if (running) {
        // Same credential and topic, maybe a new version: a new filter applies from now.
        if (running.trigger.filter !== trigger.filter) running.filter = compileFilter(trigger);
        running.trigger = trigger;
      } else if (!this.starting.has(group)) {
        this.starting.add(group);
        // Started in the background: one unreachable cluster does not hold up the others.
        void this.startOne(group, trigger)
          .catch((error: unknown) =>
            this.deps.logger.event('warn', 'event trigger cannot start; retrying', {
              workflowId: trigger.workflowId,
              index: trigger.index,
              topic: trigger.topic,
              err: error,
            }),
          )
          .finally(() => this.starting.delete(group));
      }
    }
  }

  private async startOne(group: string, trigger: EventTriggerView): Promise<void> {
    const credential = await this.deps.openCredential(trigger.tenantId, trigger.credential);
    if (credential.type !== 'kafka') {
      throw new Error(`credential "${trigger.credential}" is ${credential.type}, not kafka`);
    }
    const kafka = tenantKafka(
      credential,
      this.deps.egress,
      `weft-trigger-${trigger.workflowId}`,
      this.deps.logger,
    );
    await this.positionNewGroup(kafka, group, trigger);
    const consumer = kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: MAX_EVENT_BYTES + 64 * 1024,
    });
    const entry: Running = { trigger, filter: compileFilter(trigger), consumer };
    // A consumer that gives up (kafkajs does not restart it) is dropped: the next reconcile
    // starts it again.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      this.deps.logger.event('warn', 'event trigger consumer crashed', {
        workflowId: trigger.workflowId,
        err: payload.error,
      });
      if (this.running.get(group) === entry) void this.stopOne(group);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: trigger.topic, fromBeginning: trigger.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 4,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const { messages } = batch;
          for (let from = 0; from < messages.length; from += CONCURRENCY) {
            if (!payload.isRunning() || payload.isStale()) return;
            const chunk = messages.slice(from, from + CONCURRENCY);
            await Promise.all(
              chunk.map((record) => this.deliver(entry, batch.topic, batch.partition, record)),
            );
            const last = chunk.at(-1)!.offset;
            payload.resolveOffset(last);
            await consumer.commitOffsets([
              {
                topic: batch.topic,
                partition: batch.partition,
                offset: (BigInt(last) + 1n).toString(),
              },
            ]);
            await payload.heartbeat();
          }
        },
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    this.running.set(group, entry);
    this.deps.logger.event('info', 'event trigger consuming', {
      workflowId: trigger.workflowId,
      index: trigger.index,
      topic: trigger.topic,
      group,
    });
  }

  /**
   * A group that has committed nothing yet starts where the trigger was saved: at the first
   * offset of each partition with a timestamp from then on (the end when there is none).
   */
  private async positionNewGroup(
    kafka: Kafka,
    group: string,
    trigger: EventTriggerView,
  ): Promise<void> {
    if (trigger.fromBeginning) return;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [trigger.topic] });
      if (committed?.partitions.some((p) => p.offset !== '-1')) return;
      const offsets = await admin.fetchTopicOffsetsByTimestamp(
        trigger.topic,
        Date.parse(trigger.savedAt),
      );
      await admin.setOffsets({ groupId: group, topic: trigger.topic, partitions: offsets });
    } finally {
      await admin.disconnect();
    }
  }

  private async stopOne(group: string): Promise<void> {
    const running = this.running.get(group);
    if (!running) return;
    this.running.delete(group);
    await running.consumer.disconnect().catch(() => undefined);
    this.deps.logger.event('info', 'event trigger stopped', {
      workflowId: running.trigger.workflowId,
      index: running.trigger.index,
    });
  }

  /** Starts the record's run, or skips it as poison; throws only when worth retrying. */
  private async deliver(
    running: Running,
    topic: string,
    partition: number,
    record: KafkaMessage,
  ): Promise<void> {
    const { trigger } = running;
    const at = { workflowId: trigger.workflowId, topic, partition, offset: record.offset };
    const skip = (reason: string) =>
      this.deps.logger.event('warn', 'event record skipped', { ...at, reason });
    const size = record.value?.length ?? 0;
    if (size > MAX_EVENT_BYTES) return skip(`${size} bytes; at most ${MAX_EVENT_BYTES}`);
    const input = parseValue(record.value);
    const event = {
      topic,
      partition,
      offset: record.offset,
      key: record.key?.toString('utf8') ?? null,
      headers: Object.fromEntries(
        Object.entries(record.headers ?? {}).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.map(String) : value?.toString('utf8'),
        ]),
      ),
      timestamp: new Date(Number(record.timestamp)).toISOString(),
    };
    const unstorable = jsonStorageProblem({ input, event });
    if (unstorable) return skip(`${unstorable.path}: ${unstorable.message}`);
    if (running.filter) {
      try {
        const passes = await evaluateCondition(running.filter, {
          input,
          event: { ...event, value: input },
          steps: {},
          run: {
            id: '',
            workflowId: trigger.workflowId,
            workflowVersion: trigger.version,
            startedAt: '',
            trigger: { type: 'event', index: trigger.index, topic },
          },
        });
        if (!passes) return;
      } catch (error) {
        return skip(`filter: ${(error as Error).message}`);
      }
    }
    try {
      await this.deps.rpc.call(
        WorkflowRpc,
        'runs.start',
        {
          schemaVersion: 1,
          tenantId: trigger.tenantId,
          workflowId: trigger.workflowId,
          input,
          idempotencyKey: eventKey(trigger.workflowId, topic, partition, record.offset),
          trigger: { type: 'event', index: trigger.index, topic },
          event,
        },
        { timeoutMs: 15_000 },
      );
    } catch (error) {
      if (error instanceof DomainError && REFUSALS.has(error.code)) {
        return skip(`${error.code}: ${error.message}`);
      }
      throw error;
    }
  }
}

const compileFilter = (trigger: EventTriggerView) =>
  trigger.filter ? compileTemplate(trigger.filter) : undefined;

/** The value as JSON when it parses, else the text; a tombstone (no value) is null. */
function parseValue(value: Buffer | null): unknown {
  if (value === null) return null;
  const text = value.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
