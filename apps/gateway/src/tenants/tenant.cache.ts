import type { Tenant } from './tenant.repository';

/** Entries by key, each living `ttlMs` at most; the least recently used makes room when full. */
class LruCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly capacity: number,
    private readonly now: () => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Map keeps insertion order: re-inserting moves the entry to the most recent end.
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/**
 * Tenants of recently presented API keys, by key digest, so a hot key costs no query; and,
 * apart, digests of well-formed keys that matched no tenant, so a client repeating a wrong
 * key (or an attacker cycling through a few) costs no query either. Entries live `ttlMs` at
 * most, which bounds how long a removed key keeps working and how long an unknown key stays
 * refused after it is created elsewhere (a new key is random, so no one has presented it
 * before it exists; a key created in this process is forgotten as unknown at once). Each of
 * the two keeps `capacity` entries, so unknown keys cannot push the known ones out.
 */
export class TenantCache {
  private readonly known: LruCache<Tenant>;
  private readonly unknown: LruCache<true>;

  constructor(ttlMs = 30_000, capacity = 10_000, now: () => number = Date.now) {
    this.known = new LruCache(ttlMs, capacity, now);
    this.unknown = new LruCache(ttlMs, capacity, now);
  }

  /** The key's tenant; null when the key is known to match none; undefined when not cached. */
  get(digest: string): Tenant | null | undefined {
    return this.known.get(digest) ?? (this.unknown.get(digest) ? null : undefined);
  }

  set(digest: string, tenant: Tenant): void {
    this.unknown.delete(digest);
    this.known.set(digest, tenant);
  }

  setUnknown(digest: string): void {
    this.unknown.set(digest, true);
  }

  /** A key was just created: it is not unknown any more. */
  forgetUnknown(digest: string): void {
    this.unknown.delete(digest);
  }
}
