import { Injectable } from '@nestjs/common';
import { LruCache, uuidv7 } from '@weft/runtime';
import { hashApiKey, isWellFormedApiKey, issueApiKey } from './api-key';
import { KNOWN_KEY_TTL_MS, TenantCache } from './tenant.cache';
import type { TenantLimitOverrides } from './tenant-limits';
import {
  TenantRepository,
  type ApiKeyIdentity,
  type Tenant,
  type TenantWithLimits,
} from './tenant.repository';

/** A new tenant and its API key, which is never shown again. */
export interface TenantCreated {
  tenant: Tenant;
  apiKey: string;
}

/** The name of the key `POST /v1/tenants` issues. */
export const FIRST_KEY_NAME = 'default';

@Injectable()
export class TenantService {
  /** Lookups under way, so a burst of requests with one cold key makes one query. */
  private readonly pending = new Map<string, Promise<ApiKeyIdentity | undefined>>();

  /**
   * Tenants' own limits by id, for requests that carry no key (webhooks), cached like keys; an
   * id that is no tenant's caches "none" too, so a caller cycling ids costs a query per id.
   */
  private readonly limitsById = new LruCache<TenantLimitOverrides>(
    KNOWN_KEY_TTL_MS,
    10_000,
    Date.now,
  );

  constructor(
    private readonly tenants: TenantRepository,
    private readonly cache: TenantCache,
  ) {}

  async create(name: string): Promise<TenantCreated> {
    const tenant = { id: uuidv7(), name };
    const issued = issueApiKey();
    await this.tenants.createWithKey(tenant, {
      id: uuidv7(),
      hash: issued.hash,
      prefix: issued.prefix,
      name: FIRST_KEY_NAME,
      // The tenant's only way in, so it may do everything, including making narrower keys.
      scopes: ['write'],
      expiresAt: null,
    });
    this.cache.forgetUnknown(issued.hash.toString('base64'));
    return { tenant, apiKey: issued.key };
  }

  /**
   * What an API key stands for, revoked and expired keys included (the caller tells them
   * apart); undefined for a key that is not one of ours.
   */
  async resolve(apiKey: string): Promise<ApiKeyIdentity | undefined> {
    if (!isWellFormedApiKey(apiKey)) return undefined;
    const hash = hashApiKey(apiKey);
    const digest = hash.toString('base64');
    const cached = this.cache.get(digest);
    if (cached !== undefined) return cached ?? undefined;
    return this.pending.get(digest) ?? this.lookUp(hash, digest);
  }

  /** The limits an operator set for a tenant (none for an id that is no tenant's). */
  async limitsOf(tenantId: string): Promise<TenantLimitOverrides> {
    const cached = this.limitsById.get(tenantId);
    if (cached) return cached;
    const since = Date.now();
    const limits = (await this.tenants.findLimits(tenantId)) ?? {};
    this.limitsById.set(tenantId, limits, since);
    return limits;
  }

  /** Whether there is such a tenant (read now, not cached). */
  async exists(tenantId: string): Promise<boolean> {
    return (await this.tenants.findLimits(tenantId)) !== undefined;
  }

  /**
   * Sets or clears a tenant's own limits; undefined when there is no such tenant. Other
   * replicas, and keys cached here, see the change within KNOWN_KEY_TTL_MS.
   */
  async patchLimits(
    tenantId: string,
    patch: Record<string, number | null>,
  ): Promise<TenantWithLimits | undefined> {
    const tenant = await this.tenants.patchLimits(tenantId, patch);
    this.limitsById.delete(tenantId);
    return tenant;
  }

  /** A key was revoked here: no request after this one is admitted on what was cached of it. */
  forget(digest: string): void {
    // A lookup under way may have read the key before the revocation; it is left to answer
    // the requests that were waiting for it, but no longer caches what it read (see lookUp).
    this.pending.delete(digest);
    this.cache.forget(digest);
  }

  private lookUp(hash: Buffer, digest: string): Promise<ApiKeyIdentity | undefined> {
    // The entry's time to live counts from before the query, so it never outlives what the
    // database said by more than the cache's TTL.
    const since = Date.now();
    const lookup: Promise<ApiKeyIdentity | undefined> = this.tenants
      .findByKeyHash(hash)
      .then((identity) => {
        if (this.pending.get(digest) === lookup) {
          if (identity) this.cache.set(digest, identity, since);
          else this.cache.setUnknown(digest);
        }
        return identity;
      })
      .finally(() => {
        if (this.pending.get(digest) === lookup) this.pending.delete(digest);
      });
    this.pending.set(digest, lookup);
    return lookup;
  }
}
