import { Body, Controller, Inject, Param, Patch, Post, HttpCode, UseGuards } from '@nestjs/common';
import { WorkflowRpc } from '@weft/contracts';
import { AdminKeyGuard } from '../admin/admin-key.guard';
import { ZodPipe } from '../http/request-validation';
import { problemFor } from '../problem/problem';
import { TenantRpc } from '../rpc/tenant-rpc';
import { TENANT_LIMIT_DEFAULTS } from '../tokens';
import { CreateTenantBody, TenantParams, type TenantView } from './tenant.api';
import { effectiveLimits, PatchTenantBody, type TenantLimits } from './tenant-limits';
import { TenantService, type TenantCreated } from './tenant.service';

@Controller('v1/tenants')
@UseGuards(AdminKeyGuard)
export class TenantsController {
  constructor(
    private readonly tenants: TenantService,
    private readonly rpc: TenantRpc,
    @Inject(TENANT_LIMIT_DEFAULTS) private readonly defaults: TenantLimits,
  ) {}

  @Post()
  @HttpCode(201)
  create(
    @Body(new ZodPipe(CreateTenantBody, 'body')) body: CreateTenantBody,
  ): Promise<TenantCreated> {
    return this.tenants.create(body.name);
  }

  @Patch(':id')
  async patch(
    @Param(new ZodPipe(TenantParams, 'params')) { id }: TenantParams,
    @Body(new ZodPipe(PatchTenantBody, 'body')) { limits }: PatchTenantBody,
  ): Promise<TenantView> {
    const notFound = () => problemFor('tenant_not_found', `there is no tenant ${id}`);
    if (limits.concurrentRuns !== undefined) {
      // The engine enforces concurrentRuns: it learns of the change first, so that the limit
      // shown is never one not yet in effect.
      if (!(await this.tenants.exists(id))) throw notFound();
      await this.rpc.call(WorkflowRpc, 'tenants.limits.put', id, {
        concurrentRuns: limits.concurrentRuns,
      });
    }
    const tenant = await this.tenants.patchLimits(id, limits);
    if (!tenant) throw notFound();
    return {
      id: tenant.id,
      name: tenant.name,
      limits: effectiveLimits(this.defaults, tenant.limits),
      ownLimits: tenant.limits,
    };
  }
}
