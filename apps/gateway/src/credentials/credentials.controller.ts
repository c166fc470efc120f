import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  UseGuards,
} from '@nestjs/common';
import { IntegrationRpc, type CredentialList, type CredentialView } from '@weft/contracts';
import { ZodPipe } from '../http/request-validation';
import { TenantRpc } from '../rpc/tenant-rpc';
import { ApiKeyGuard } from '../tenants/api-key.guard';
import { TenantId } from '../tenants/tenant-id.decorator';
import { CreateCredentialBody, CredentialParams, ReplaceCredentialBody } from './credential.api';

/** Credentials go to the integration service's vault; their data is never logged or returned. */
@Controller('v1/credentials')
@UseGuards(ApiKeyGuard)
export class CredentialsController {
  constructor(private readonly rpc: TenantRpc) {}

  @Post()
  @HttpCode(201)
  create(
    @TenantId() tenantId: string,
    @Body(new ZodPipe(CreateCredentialBody, 'body')) credential: CreateCredentialBody,
  ): Promise<CredentialView> {
    return this.rpc.call(IntegrationRpc, 'credentials.create', tenantId, credential);
  }

  @Get()
  list(@TenantId() tenantId: string): Promise<CredentialList> {
    return this.rpc.call(IntegrationRpc, 'credentials.list', tenantId, {});
  }

  @Put(':name')
  replace(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(CredentialParams, 'params')) { name }: CredentialParams,
    @Body(new ZodPipe(ReplaceCredentialBody, 'body')) { data }: ReplaceCredentialBody,
  ): Promise<CredentialView> {
    return this.rpc.call(
      IntegrationRpc,
      'credentials.update',
      tenantId,
      { name, data },
      { data: '$.body.data' },
    );
  }

  @Delete(':name')
  @HttpCode(204)
  async delete(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(CredentialParams, 'params')) { name }: CredentialParams,
  ): Promise<void> {
    await this.rpc.call(IntegrationRpc, 'credentials.delete', tenantId, { name });
  }
}
