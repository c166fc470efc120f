import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** The authenticated tenant's id; only on routes behind ApiKeyGuard. */
export const TenantId = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const { tenantId } = context.switchToHttp().getRequest<FastifyRequest>();
  if (!tenantId) throw new Error('TenantId read on a route without ApiKeyGuard');
  return tenantId;
});
