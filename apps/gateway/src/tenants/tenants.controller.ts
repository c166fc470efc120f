import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { AdminKeyGuard } from '../admin/admin-key.guard';
import { ZodPipe } from '../http/request-validation';
import { CreateTenantBody } from './tenant.api';
import { TenantService, type TenantCreated } from './tenant.service';

@Controller('v1/tenants')
@UseGuards(AdminKeyGuard)
export class TenantsController {
  constructor(private readonly tenants: TenantService) {}

  @Post()
  @HttpCode(201)
  create(
    @Body(new ZodPipe(CreateTenantBody, 'body')) body: CreateTenantBody,
  ): Promise<TenantCreated> {
    return this.tenants.create(body.name);
  }
}
