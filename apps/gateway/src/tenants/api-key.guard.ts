import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../http/bearer';
import { ProblemError } from '../problem/problem';
import { TenantService } from './tenant.service';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by ApiKeyGuard: the tenant whose API key authenticated the request. */
    tenantId?: string;
  }
}

/** Admits requests bearing a tenant's API key and records the tenant on the request. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly tenants: TenantService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = bearerToken(request.headers.authorization);
    if (!presented)
      throw ProblemError.unauthorized('an API key is required: Authorization: Bearer <key>');
    const tenant = await this.tenants.resolve(presented);
    if (!tenant) throw ProblemError.unauthorized('the API key is not valid');
    request.tenantId = tenant.id;
    return true;
  }
}
