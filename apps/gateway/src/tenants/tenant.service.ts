import { Injectable } from '@nestjs/common';
import { uuidv7 } from '@weft/runtime';
import { hashApiKey, isWellFormedApiKey, issueApiKey } from './api-key';
import { TenantCache } from './tenant.cache';
import { TenantRepository, type Tenant } from './tenant.repository';

/** A new tenant and its API key, which is never shown again. */
export interface TenantCreated {
  tenant: Tenant;
  apiKey: string;
}

@Injectable()
export class TenantService {
  /** Lookups under way, so a burst of requests with one cold key makes one query. */
  private readonly pending = new Map<string, Promise<Tenant | undefined>>();

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
    });
    this.cache.forgetUnknown(issued.hash.toString('base64'));
    return { tenant, apiKey: issued.key };
  }

  /** The tenant an API key belongs to, or undefined for a key that is not one of ours. */
  async resolve(apiKey: string): Promise<Tenant | undefined> {
    if (!isWellFormedApiKey(apiKey)) return undefined;
    const hash = hashApiKey(apiKey);
    const digest = hash.toString('base64');
    const cached = this.cache.get(digest);
    if (cached !== undefined) return cached ?? undefined;
    let lookup = this.pending.get(digest);
    if (!lookup) {
      lookup = this.tenants.findByKeyHash(hash).finally(() => this.pending.delete(digest));
      this.pending.set(digest, lookup);
    }
    const tenant = await lookup;
    if (tenant) this.cache.set(digest, tenant);
    else this.cache.setUnknown(digest);
    return tenant;
  }
}
