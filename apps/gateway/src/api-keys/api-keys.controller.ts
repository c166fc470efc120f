import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ZodPipe } from '../http/request-validation';
import { ApiKeyGuard } from '../tenants/api-key.guard';
import { TenantId } from '../tenants/tenant-id.decorator';
import {
  ApiKeyParams,
  CreateApiKeyBody,
  type ApiKeyCreatedView,
  type ApiKeyList,
} from './api-key.api';
import { ApiKeyService } from './api-key.service';

/**
 * A tenant's own API keys. Creating and revoking them needs the `write` scope, listing them
 * `read`, as everywhere (ApiKeyGuard); a tenant may revoke the very key it calls with.
 */
@Controller('v1/api-keys')
@UseGuards(ApiKeyGuard)
export class ApiKeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post()
  @HttpCode(201)
  create(
    @TenantId() tenantId: string,
    @Body(new ZodPipe(CreateApiKeyBody, 'body')) body: CreateApiKeyBody,
  ): Promise<ApiKeyCreatedView> {
    return this.keys.create(tenantId, body);
  }

  @Get()
  list(@TenantId() tenantId: string): Promise<ApiKeyList> {
    return this.keys.list(tenantId);
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(ApiKeyParams, 'params')) { id }: ApiKeyParams,
  ): Promise<void> {
    await this.keys.revoke(tenantId, id);
  }
}
