import { Inject, Injectable } from '@nestjs/common';
import { WorkflowRpc, type RunEvent, type RunView } from '@weft/contracts';
import type { FastifyReply } from 'fastify';
import { TenantRpc } from '../../rpc/tenant-rpc';
import { SSE_HEARTBEAT_MS } from '../../tokens';
import { RunEventFanout } from './run-event.fanout';
import {
  isInSnapshot,
  isTerminal,
  snapshotEvents,
  type RunStreamEvent,
} from './run-event.snapshot';
import { SseStream } from './sse-stream';

/** Streams a run's state, then its live events, until the run ends or the client leaves. */
@Injectable()
export class RunEventsService {
  constructor(
    private readonly fanout: RunEventFanout,
    private readonly rpc: TenantRpc,
    @Inject(SSE_HEARTBEAT_MS) private readonly heartbeatMs: number,
  ) {}

  /** Throws, with nothing written yet, when the run is not the tenant's. */
  async stream(tenantId: string, runId: string, reply: FastifyReply): Promise<void> {
    // Listen before reading the state, so that no event in between is lost.
    const feed = this.fanout.open(runId);
    let run: RunView;
    try {
      run = await this.rpc.call(WorkflowRpc, 'runs.get', tenantId, { runId });
    } catch (error) {
      feed.close();
      throw error;
    }
    reply.hijack();
    const stream = new SseStream(reply.raw, this.heartbeatMs);
    stream.onEnd(() => feed.close());
    const snapshot = snapshotEvents(run);
    for (const event of snapshot) stream.send(event);
    if (snapshot.some(isTerminal)) return stream.end();
    const send = (event: RunStreamEvent) => {
      stream.send(event);
      if (isTerminal(event)) stream.end();
    };
    const earlier = feed.follow(
      (event) => send(streamEvent(event)),
      () => stream.end(),
    );
    for (const event of earlier) {
      if (!stream.isEnded && !isInSnapshot(event, run)) send(streamEvent(event));
    }
  }
}

const streamEvent = ({ runId, type, at, data }: RunEvent): RunStreamEvent => ({
  runId,
  type,
  at,
  data,
});
