import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { JsonLogger } from '@weft/runtime';
import { LAST_USED_FLUSH_MS } from '../tokens';
import { TenantRepository } from './tenant.repository';

/**
 * When each API key was last used, without a write per request: uses are coalesced in memory
 * (key id → latest time) and written every `LAST_USED_FLUSH_MS` (10 s) in one statement, and
 * once more on shutdown. A hot key thus costs one row update per flush however many requests
 * it makes; what a gateway that dies abruptly had not flushed is lost, which only makes
 * `lastUsedAt` older than it should be.
 */
@Injectable()
export class LastUsedRecorder implements OnApplicationBootstrap, OnApplicationShutdown {
  private uses = new Map<string, Date>();
  private timer?: NodeJS.Timeout;
  /** The flush under way, so two never overlap and shutdown waits for it. */
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly keys: TenantRepository,
    private readonly logger: JsonLogger,
    @Inject(LAST_USED_FLUSH_MS) private readonly flushMs: number,
  ) {}

  record(keyId: string, at = new Date()): void {
    const previous = this.uses.get(keyId);
    if (!previous || previous < at) this.uses.set(keyId, at);
  }

  /** A use recorded here and not written yet, so a list from this gateway shows it at once. */
  unflushed(keyId: string): Date | undefined {
    return this.uses.get(keyId);
  }

  /** Writes the uses recorded so far, in one statement; they are kept for the next on failure. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** After the server has closed: no request can record a use after this flush. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.uses.size === 0) return;
    const batch = this.uses;
    this.uses = new Map();
    try {
      await this.keys.recordLastUsed(batch);
    } catch (error) {
      // The database is away: try again next time; a later use recorded since wins.
      for (const [keyId, at] of batch) this.record(keyId, at);
      this.logger.event('warn', 'API key last-used times not written', {
        keys: batch.size,
        err: error,
      });
    }
  }
}
