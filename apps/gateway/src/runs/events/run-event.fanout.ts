import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import {
  EventTopics,
  eventsOfRecord,
  gatewaySseGroup,
  type RunEventRecord,
  type RunEventView,
} from '@weft/contracts';
import { EVENT_LOG, type EventLog } from '@weft/messaging';
import { SSE_IDLE_MS } from '../../tokens';

/** How long a gateway goes on fetching run events with no stream open. */
export const DEFAULT_SSE_IDLE_MS = 30_000;

/**
 * The events one stream follows (one run's, or a tenant's): held until the stream is ready,
 * then handed on.
 */
export class RunEventFeed {
  private backlog: RunEventView[] = [];
  private listener: ((event: RunEventView) => void) | undefined;
  private closed = false;
  private onClose: (() => void) | undefined;

  constructor(private readonly detach: () => void) {}

  push(event: RunEventView): void {
    if (this.listener) this.listener(event);
    else this.backlog.push(event);
  }

  /** Hands every later event to `listener` and answers those that arrived before. */
  follow(listener: (event: RunEventView) => void, onClose: () => void): RunEventView[] {
    const earlier = this.backlog;
    this.backlog = [];
    this.listener = listener;
    this.onClose = onClose;
    if (this.closed) onClose();
    return earlier;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    this.onClose?.();
  }
}

/**
 * Every run event, once per gateway process, handed to the streams that follow it. Each
 * process joins `weft.run.events` with a consumer group of its own, so every instance sees
 * every event, whichever instance a client's stream is on.
 */
@Injectable()
export class RunEventFanout
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown
{
  /** Streams of one run, by run id. */
  private readonly runFeeds = new Map<string, Set<RunEventFeed>>();
  /** Streams of a tenant's runs (of one workflow, when given), by tenant id. */
  private readonly tenantFeeds = new Map<string, Map<RunEventFeed, string | undefined>>();

  private readonly group = gatewaySseGroup(randomUUID());
  /** Whether the group fetches; `live()` waits for the change under way. */
  private fetching = true;
  private change: Promise<void> = Promise.resolve();
  private idleTimer?: NodeJS.Timeout;
  private closing = false;

  constructor(
    @Inject(EVENT_LOG) private readonly events: EventLog,
    @Inject(SSE_IDLE_MS) private readonly idleMs: number = DEFAULT_SSE_IDLE_MS,
  ) {}

  onModuleInit(): void {
    // Streams follow live events only (history comes from the store): the group of this
    // process starts at the latest record. While no tenant stream is open, events of runs
    // nobody here follows (nearly all) are skipped undecoded: their key is the run id.
    this.events.subscribe(
      EventTopics.runEvents,
      this.group,
      async (record) => this.dispatch(record),
      {
        from: 'latest',
        onlyKeys: (runId) => this.tenantFeeds.size > 0 || this.runFeeds.has(runId),
      },
    );
  }

  /** With no stream open yet, fetching stops after SSE_IDLE_MS. */
  onApplicationBootstrap(): void {
    this.idleWhenUnfollowed();
  }

  /**
   * Resolves once the events produced from now on reach the open feeds. Fetching stops after
   * SSE_IDLE_MS without a stream, since every record of the platform costs a fetch; a stream
   * that opens then waits for it to start again, from the end of the topic, before it reads
   * the history (so an event is in the history or heard live, or both).
   */
  live(): Promise<void> {
    if (!this.fetching) {
      this.fetching = true;
      this.change = this.change
        .catch(() => undefined)
        .then(() => this.events.followLive(this.group, true))
        .catch((error: unknown) => {
          // Tried again by the next stream; this one fails rather than follow nothing.
          this.fetching = false;
          throw error;
        });
    }
    return this.change;
  }

  private idleWhenUnfollowed(): void {
    clearTimeout(this.idleTimer);
    if (this.closing || this.openFeeds > 0 || !this.fetching) return;
    // Checked again when it fires: a stream opened meanwhile keeps it fetching.
    this.idleTimer = setTimeout(() => {
      if (this.openFeeds > 0 || !this.fetching) return;
      this.fetching = false;
      this.change = this.change
        .catch(() => undefined)
        .then(() => this.events.followLive(this.group, false))
        // Not paused (the broker away): it fetches on, which costs CPU and loses nothing.
        .catch(() => undefined);
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Starts collecting the run's events; the caller must close the feed. */
  open(runId: string): RunEventFeed {
    const feeds = this.runFeeds.get(runId) ?? new Set();
    const feed = new RunEventFeed(() => {
      feeds.delete(feed);
      if (feeds.size === 0) this.runFeeds.delete(runId);
      this.idleWhenUnfollowed();
    });
    feeds.add(feed);
    this.runFeeds.set(runId, feeds);
    return feed;
  }

  /** Starts collecting the events of a tenant's runs, of one workflow when given. */
  openTenant(tenantId: string, workflowId?: string): RunEventFeed {
    const feeds = this.tenantFeeds.get(tenantId) ?? new Map<RunEventFeed, string | undefined>();
    const feed = new RunEventFeed(() => {
      feeds.delete(feed);
      if (feeds.size === 0) this.tenantFeeds.delete(tenantId);
      this.idleWhenUnfollowed();
    });
    feeds.set(feed, workflowId);
    this.tenantFeeds.set(tenantId, feeds);
    return feed;
  }

  /** How many streams are open. */
  get openFeeds(): number {
    let count = 0;
    for (const feeds of this.runFeeds.values()) count += feeds.size;
    for (const feeds of this.tenantFeeds.values()) count += feeds.size;
    return count;
  }

  /** Ends every stream, or the HTTP server would wait for them when it closes. */
  beforeApplicationShutdown(): void {
    this.closing = true;
    clearTimeout(this.idleTimer);
    for (const feed of this.allFeeds()) feed.close();
  }

  /** Hands each event of a record (one transition of a run) to the streams that follow it. */
  private dispatch(record: RunEventRecord): void {
    const runFeeds = this.runFeeds.get(record.runId);
    const tenantFeeds = this.tenantFeeds.get(record.tenantId);
    if (!runFeeds && !tenantFeeds) return;
    for (const event of eventsOfRecord(record)) {
      const followers = [...(runFeeds ?? [])];
      for (const [feed, workflowId] of tenantFeeds ?? []) {
        if (workflowId === undefined || workflowId === event.workflowId) followers.push(feed);
      }
      for (const feed of followers) {
        // One broken stream ends alone; throwing would make the log redeliver to every stream.
        try {
          feed.push(event);
        } catch {
          feed.close();
        }
      }
    }
  }

  private allFeeds(): RunEventFeed[] {
    return [
      ...[...this.runFeeds.values()].flatMap((feeds) => [...feeds]),
      ...[...this.tenantFeeds.values()].flatMap((feeds) => [...feeds.keys()]),
    ];
  }
}
