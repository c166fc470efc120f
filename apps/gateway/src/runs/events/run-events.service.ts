import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable } from '@nestjs/common';
import {
  isTerminalRunEvent,
  isTerminalRunStatus,
  type RunEventPage,
  type RunEventView,
  type RunView,
} from '@weft/contracts';
import type { FastifyReply } from 'fastify';
import type { GatewayLimits } from '../../limits';
import { tooManyEventStreams } from '../../problem/problem';
import { GATEWAY_LIMITS, SSE_HEARTBEAT_MS } from '../../tokens';
import { RunReads } from '../run-reads';
import { RunEventFanout } from './run-event.fanout';
import { SseStream } from './sse-stream';

/** A run's stored history, then its live events; and a tenant's live events. */
@Injectable()
export class RunEventsService {
  /** Event streams open per tenant; a tenant leaves the map with its last stream. */
  private readonly open = new Map<string, number>();

  constructor(
    private readonly fanout: RunEventFanout,
    private readonly reads: RunReads,
    @Inject(SSE_HEARTBEAT_MS) private readonly heartbeatMs: number,
    @Inject(GATEWAY_LIMITS) private readonly limits: GatewayLimits,
  ) {}

  /** Event streams the tenant has open (for tests and diagnostics). */
  streamsOf(tenantId: string): number {
    return this.open.get(tenantId) ?? 0;
  }

  /**
   * Counts a stream against the tenant's limit, or throws 429 over it (streams hold no slot in
   * flight, load-shedding.ts). Answers the release, which frees the place once however often
   * it is called.
   */
  private openStream(tenantId: string): () => void {
    const open = this.open.get(tenantId) ?? 0;
    if (open >= this.limits.maxEventStreamsPerTenant) {
      throw tooManyEventStreams(this.limits.maxEventStreamsPerTenant);
    }
    this.open.set(tenantId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(tenantId) ?? 1) - 1;
      if (left > 0) this.open.set(tenantId, left);
      else this.open.delete(tenantId);
    };
  }

  /**
   * The run once it ended, or undefined after `seconds` (a webhook's `?wait`). Follows the
   * run's events rather than polling: one read when the wait starts (the run may have ended
   * already) and one when its terminal event arrives.
   */
  async untilEnded(tenantId: string, runId: string, seconds: number): Promise<RunView | undefined> {
    const feed = this.fanout.open(runId);
    const timeout = new AbortController();
    try {
      // Not live (the broker away): the wait ends at its deadline, answered as still running.
      await this.fanout.live().catch(() => undefined);
      const ended = new Promise<void>((resolve) => {
        const heard = (event: Parameters<typeof isTerminalRunEvent>[0]) => {
          if (isTerminalRunEvent(event)) resolve();
        };
        for (const event of feed.follow(heard, resolve)) heard(event);
      });
      const read = () => this.reads.run(tenantId, runId);
      const now = await read();
      if (isTerminalRunStatus(now.status)) return now;
      const heard = await Promise.race([
        ended.then(() => true),
        sleep(seconds * 1000, false, { signal: timeout.signal }).catch(() => false),
      ]);
      if (!heard) return undefined;
      const later = await read();
      return isTerminalRunStatus(later.status) ? later : undefined;
    } finally {
      timeout.abort();
      feed.close();
    }
  }

  /** One page of the run's stored events after `afterSeq`; throws when not the tenant's. */
  history(tenantId: string, runId: string, afterSeq: number): Promise<RunEventPage> {
    return this.reads.events(tenantId, runId, afterSeq);
  }

  /**
   * Streams the run's stored events after `afterSeq` (a client's `Last-Event-ID`), then its
   * live ones, until the run ends or the client leaves; each event's id is its sequence number.
   * Throws, with nothing written yet, when the run is not the tenant's.
   */
  async stream(
    tenantId: string,
    runId: string,
    afterSeq: number,
    reply: FastifyReply,
  ): Promise<void> {
    const release = this.openStream(tenantId);
    // Listen before reading the history, so that no event in between is lost; an event both
    // stored and heard is sent once, by its sequence number.
    const feed = this.fanout.open(runId);
    let page: RunEventPage;
    try {
      await this.fanout.live();
      page = await this.history(tenantId, runId, afterSeq);
    } catch (error) {
      feed.close();
      release();
      throw error;
    }
    reply.hijack();
    const stream = new SseStream(reply.raw, this.heartbeatMs);
    stream.onEnd(() => {
      feed.close();
      release();
    });
    let sent = afterSeq;
    const send = (event: RunEventView) => {
      if (stream.isEnded || event.seq <= sent) return;
      sent = event.seq;
      stream.send(event, String(event.seq));
      if (isTerminalRunEvent(event)) stream.end();
    };
    for (;;) {
      page.items.forEach(send);
      if (stream.isEnded || page.items.length === 0 || sent >= page.lastSeq) break;
      page = await this.history(tenantId, runId, sent);
    }
    // A run that had ended and whose last event the client has seen has nothing more to say.
    if (page.ended && sent >= page.lastSeq) return stream.end();
    // Live records can arrive out of order (two engine replicas each send one of a run's
    // consecutive transitions as it commits, ADR 0023) or not at all: an event past a gap
    // waits until the events before it are read from the store, in order.
    let behind = Promise.resolve();
    let waiting = 0;
    const fill = async (event: RunEventView) => {
      while (!stream.isEnded && sent < event.seq - 1) {
        const before = sent;
        const gap = await this.history(tenantId, runId, sent);
        gap.items.filter((stored) => stored.seq < event.seq).forEach(send);
        // Not stored (yet, on a lagging replica): send what is here rather than stall.
        if (sent === before) break;
      }
      send(event);
    };
    const live = (event: RunEventView) => {
      if (waiting === 0 && event.seq <= sent + 1) return send(event);
      waiting++;
      behind = behind
        .then(() => fill(event))
        // The store is out of reach: end the stream, the client resumes with Last-Event-ID.
        .catch(() => stream.end())
        .finally(() => waiting--);
    };
    const earlier = feed.follow(live, () => stream.end());
    for (const event of earlier) live(event);
  }

  /** Streams the live events of the tenant's runs (of one workflow when given). */
  async streamTenant(
    tenantId: string,
    workflowId: string | undefined,
    reply: FastifyReply,
  ): Promise<void> {
    const release = this.openStream(tenantId);
    const feed = this.fanout.openTenant(tenantId, workflowId);
    try {
      // The stream's first byte says it follows: every event produced after it is sent.
      await this.fanout.live();
    } catch (error) {
      feed.close();
      release();
      throw error;
    }
    reply.hijack();
    const stream = new SseStream(reply.raw, this.heartbeatMs);
    stream.onEnd(() => {
      feed.close();
      release();
    });
    const send = (event: RunEventView) => stream.send(event);
    feed.follow(send, () => stream.end()).forEach(send);
  }
}
