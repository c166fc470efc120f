import type { Tenant } from './tenant.repository';

/**
 * Tenants of recently presented API keys, by key digest, so a hot key costs no query. Entries
 * live `ttlMs` at most, which bounds how long a removed key keeps working; the least recently
 * used entry makes room when the cache is full.
 */
export class TenantCache {
  private readonly entries = new Map<string, { tenant: Tenant; expiresAt: number }>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly capacity = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(digest: string): Tenant | undefined {
    const entry = this.entries.get(digest);
    if (!entry) return undefined;
    // Map keeps insertion order: re-inserting moves the entry to the most recent end.
    this.entries.delete(digest);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(digest, entry);
    return entry.tenant;
  }

  set(digest: string, tenant: Tenant): void {
    this.entries.delete(digest);
    this.entries.set(digest, { tenant, expiresAt: this.now() + this.ttlMs });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}
