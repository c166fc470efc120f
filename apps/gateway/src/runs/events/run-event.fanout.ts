import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { EventTopics, gatewaySseGroup, type RunEvent } from '@weft/contracts';
import { EVENT_LOG, type EventLog } from '@weft/messaging';

/** The events of one run for one stream: held until the stream is ready, then handed on. */
export class RunEventFeed {
  private backlog: RunEvent[] = [];
  private listener: ((event: RunEvent) => void) | undefined;
  private closed = false;
  private onClose: (() => void) | undefined;

  constructor(
    readonly runId: string,
    private readonly detach: (feed: RunEventFeed) => void,
  ) {}

  push(event: RunEvent): void {
    if (this.listener) this.listener(event);
    else this.backlog.push(event);
  }

  /** Hands every later event to `listener` and answers those that arrived before. */
  follow(listener: (event: RunEvent) => void, onClose: () => void): RunEvent[] {
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
    this.detach(this);
    this.onClose?.();
  }
}

/**
 * Every run event, once per gateway process, handed to the streams of its run. Each process
 * joins `weft.run.events` with a consumer group of its own, so every instance sees every
 * event, whichever instance a client's stream is on.
 */
@Injectable()
export class RunEventFanout implements OnModuleInit, BeforeApplicationShutdown {
  private readonly feeds = new Map<string, Set<RunEventFeed>>();

  constructor(@Inject(EVENT_LOG) private readonly events: EventLog) {}

  onModuleInit(): void {
    // Streams follow live events only: the group of this process starts at the latest record.
    // Events of runs nobody here follows (nearly all) are skipped undecoded: their key is the
    // run id.
    this.events.subscribe(
      EventTopics.runEvents,
      gatewaySseGroup(randomUUID()),
      async (event) => this.dispatch(event),
      { from: 'latest', onlyKeys: (runId) => this.feeds.has(runId) },
    );
  }

  /** Starts collecting the run's events; the caller must close the feed. */
  open(runId: string): RunEventFeed {
    const feed = new RunEventFeed(runId, (closed) => this.detach(closed));
    const feeds = this.feeds.get(runId) ?? new Set();
    feeds.add(feed);
    this.feeds.set(runId, feeds);
    return feed;
  }

  /** How many streams are open. */
  get openFeeds(): number {
    let count = 0;
    for (const feeds of this.feeds.values()) count += feeds.size;
    return count;
  }

  /** Ends every stream, or the HTTP server would wait for them when it closes. */
  beforeApplicationShutdown(): void {
    for (const feeds of [...this.feeds.values()]) for (const feed of [...feeds]) feed.close();
  }

  private dispatch(event: RunEvent): void {
    for (const feed of [...(this.feeds.get(event.runId) ?? [])]) {
      // One broken stream ends alone; throwing would make the log redeliver to every stream.
      try {
        feed.push(event);
      } catch {
        feed.close();
      }
    }
  }

  private detach(feed: RunEventFeed): void {
    const feeds = this.feeds.get(feed.runId);
    feeds?.delete(feed);
    if (feeds?.size === 0) this.feeds.delete(feed.runId);
  }
}
