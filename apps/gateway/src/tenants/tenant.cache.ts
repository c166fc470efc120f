import { LruCache } from '@weft/runtime';
import type { ApiKeyIdentity } from './tenant.repository';

/**
 * How long a gateway may go on trusting what it read of a key: the bound on how late a
 * revocation made through another gateway replica takes effect there (the replica that revoked
 * drops the key at once). One indexed lookup per hot key per second per replica is cheap, and
 * needs nothing but the database every replica has already, where a broadcast (Redis pub/sub)
 * would add a dependency that standalone mode does not have and a failure mode (a missed
 * message keeps a revoked key working) that a time to live does not.
 */
export const KNOWN_KEY_TTL_MS = 1_000;

/**
 * How long a well-formed key that matched nothing stays refused without a query. A new key is
 * random, so no one has presented it before it exists; one created in this process is
 * forgotten as unknown at once.
 */
export const UNKNOWN_KEY_TTL_MS = 30_000;

export interface TenantCacheOptions {
  knownTtlMs?: number;
  unknownTtlMs?: number;
  /** Entries of each of the two caches. */
  capacity?: number;
  now?: () => number;
}

/**
 * What recently presented API keys stand for, by key digest, so a hot key costs no query (a
 * revoked or expired key too: the entry says so); and, apart, digests of well-formed keys that
 * matched nothing, so a client repeating a wrong key (or an attacker cycling through a few)
 * costs no query either. Each of the two keeps `capacity` entries, so unknown keys cannot push
 * the known ones out.
 */
export class TenantCache {
  private readonly known: LruCache<ApiKeyIdentity>;
  private readonly unknown: LruCache<true>;

  constructor({
    knownTtlMs = KNOWN_KEY_TTL_MS,
    unknownTtlMs = UNKNOWN_KEY_TTL_MS,
    capacity = 10_000,
    now = Date.now,
  }: TenantCacheOptions = {}) {
    this.known = new LruCache(knownTtlMs, capacity, now);
    this.unknown = new LruCache(unknownTtlMs, capacity, now);
  }

  /** What the key stands for; null when it is known to match none; undefined when not cached. */
  get(digest: string): ApiKeyIdentity | null | undefined {
    return this.known.get(digest) ?? (this.unknown.get(digest) ? null : undefined);
  }

  /** `since`: when the lookup that found `identity` began (see KNOWN_KEY_TTL_MS). */
  set(digest: string, identity: ApiKeyIdentity, since?: number): void {
    this.unknown.delete(digest);
    this.known.set(digest, identity, since);
  }

  setUnknown(digest: string): void {
    this.unknown.set(digest, true);
  }

  /** A key was just created: it is not unknown any more. */
  forgetUnknown(digest: string): void {
    this.unknown.delete(digest);
  }

  /** A key was just revoked here: its next use reads the revocation. */
  forget(digest: string): void {
    this.known.delete(digest);
  }
}
