import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../http/bearer';
import { ProblemError } from '../problem/problem';

export const ADMIN_KEY = Symbol('AdminKey');

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Admits requests bearing the operator's admin key, compared in constant time. */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(ADMIN_KEY) adminKey: string) {
    this.expected = digest(adminKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = bearerToken(request.headers.authorization);
    if (!presented)
      throw ProblemError.unauthorized('an admin key is required: Authorization: Bearer <key>');
    if (!timingSafeEqual(digest(presented), this.expected)) {
      throw ProblemError.unauthorized('the admin key is not valid');
    }
    return true;
  }
}
