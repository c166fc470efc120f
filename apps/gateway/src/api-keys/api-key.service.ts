import { Injectable } from '@nestjs/common';
import { uuidv7 } from '@weft/runtime';
import { problemFor } from '../problem/problem';
import { API_KEY_SCOPES, issueApiKey } from '../tenants/api-key';
import { LastUsedRecorder } from '../tenants/last-used.recorder';
import { TenantRepository, type ApiKeyRecord } from '../tenants/tenant.repository';
import { TenantService } from '../tenants/tenant.service';
import { TenantCache } from '../tenants/tenant.cache';
import type { ApiKeyCreatedView, ApiKeyList, ApiKeyView, CreateApiKeyBody } from './api-key.api';

/** A tenant's API keys: issued, listed (never the key nor its hash) and revoked. */
@Injectable()
export class ApiKeyService {
  constructor(
    private readonly keys: TenantRepository,
    private readonly tenants: TenantService,
    private readonly cache: TenantCache,
    private readonly lastUsed: LastUsedRecorder,
  ) {}

  async create(tenantId: string, body: CreateApiKeyBody): Promise<ApiKeyCreatedView> {
    const issued = issueApiKey();
    const record = await this.keys.insertKey(tenantId, {
      id: uuidv7(),
      hash: issued.hash,
      prefix: issued.prefix,
      name: body.name,
      // In a fixed order, whatever the request's: ['write', 'read'] is stored as ['read', 'write'].
      scopes: API_KEY_SCOPES.filter((scope) => body.scopes.includes(scope)),
      expiresAt: body.expiresAt === undefined ? null : new Date(body.expiresAt),
    });
    if (!record) {
      throw problemFor(
        'api_key_name_taken',
        `the tenant has an API key named "${body.name}" already; revoke it or choose another name`,
      );
    }
    this.cache.forgetUnknown(issued.hash.toString('base64'));
    return { ...this.view(record), key: issued.key };
  }

  async list(tenantId: string): Promise<ApiKeyList> {
    return { items: (await this.keys.listKeys(tenantId)).map((record) => this.view(record)) };
  }

  async revoke(tenantId: string, keyId: string): Promise<void> {
    const hash = await this.keys.revokeKey(tenantId, keyId);
    if (!hash) throw problemFor('api_key_not_found', `the tenant has no API key ${keyId}`);
    this.tenants.forget(hash.toString('base64'));
  }

  private view(record: ApiKeyRecord): ApiKeyView {
    // A use this gateway saw and has not written yet is newer than what the row says.
    const unflushed = this.lastUsed.unflushed(record.id);
    const lastUsedAt =
      unflushed && (!record.lastUsedAt || unflushed > record.lastUsedAt)
        ? unflushed
        : record.lastUsedAt;
    return {
      id: record.id,
      name: record.name,
      scopes: record.scopes,
      prefix: record.prefix,
      createdAt: record.createdAt.toISOString(),
      expiresAt: record.expiresAt?.toISOString() ?? null,
      lastUsedAt: lastUsedAt?.toISOString() ?? null,
    };
  }
}
