import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** All request headers, lower-cased; unlike `@Headers()`, it takes a validating pipe. */
export const RequestHeaders = createParamDecorator(
  (_: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<FastifyRequest>().headers,
);
